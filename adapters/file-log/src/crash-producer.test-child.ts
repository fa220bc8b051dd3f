/**
 * Child process of crash.test.ts: produces to `<dir>` in a loop until it is killed,
 * printing the number of records whose produce() has resolved. Run with
 * `node --conditions=@vigil/source --import <tsx> crash-producer.test-child.ts <dir>`.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@vigil/core';
import { FileLogSource } from './file-log-source.js';

export const CRASH_TOPIC = 'crash';
export const CRASH_PARTITIONS = 3;

/** Value of record `i` of batch `b`: self-describing, with a length that varies. */
export function crashValue(b: number, i: number): string {
  return JSON.stringify({ b, i, pad: 'x'.repeat((b * 31 + i * 7) % 700) });
}

async function main(dir: string): Promise<void> {
  const source = await FileLogSource.open({
    dir,
    defaultPartitions: CRASH_PARTITIONS,
    fsync: 'never',
    segmentBytes: 256 * 1024,
    logger: createLogger({ level: 'silent' }),
  });
  await source.ensureTopic(CRASH_TOPIC, { partitions: CRASH_PARTITIONS });
  let acked = 0;
  for (let b = 0; ; b++) {
    const records = Array.from({ length: 100 }, (_, i) => ({
      topic: CRASH_TOPIC,
      key: `site-${(b + i) % 11}`,
      value: crashValue(b, i),
    }));
    await source.produce(records);
    acked += records.length;
    process.stdout.write(`${acked}\n`);
  }
}

const entry = process.argv[1];
if (entry && resolve(entry) === fileURLToPath(import.meta.url)) await main(process.argv[2] ?? 'log');
