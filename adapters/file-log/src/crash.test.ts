/**
 * A producer SIGKILLed mid-write leaves a log that reopens with only whole records, at
 * contiguous offsets, including every record whose produce() had resolved.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '@vigil/core';
import { describe, it } from 'vitest';
import { CRASH_PARTITIONS, CRASH_TOPIC, crashValue } from './crash-producer.test-child.js';
import { FileLogSource } from './file-log-source.js';

const child = fileURLToPath(new URL('./crash-producer.test-child.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Start the producer, wait until it has acknowledged `atLeast` records, SIGKILL it. */
async function produceThenKill(dir: string, atLeast: number): Promise<number> {
  const proc = spawn(process.execPath, ['--conditions=@vigil/source', '--import', tsx, child, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let acked = 0;
  let buffered = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    proc.on('exit', (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`producer too slow (acked ${acked}): ${stderr}`)),
      15_000,
    );
    proc.stdout.on('data', (c: Buffer) => {
      buffered += c.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) acked = Math.max(acked, Number(line));
      if (acked >= atLeast) {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (acked < atLeast) reject(new Error(`producer exited early (${code}): ${stderr}`));
    });
  });
  assert.equal(await exited, 'SIGKILL');
  return acked;
}

describe('crash recovery', () => {
  it('reopens a log whose producer was SIGKILLed mid-write with whole records at contiguous offsets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-file-log-crash-'));
    try {
      const acked = await produceThenKill(dir, 3_000);
      const source = await FileLogSource.open({
        dir,
        defaultPartitions: CRASH_PARTITIONS,
        fsync: 'batch',
        segmentBytes: 256 * 1024,
        logger: createLogger({ level: 'silent' }),
      });
      try {
        const info = await source.describeTopic(CRASH_TOPIC);
        const total = info.endOffsets.reduce((a, b) => a + Number(b), 0);
        assert.ok(total >= acked, `${total} records on disk, ${acked} acknowledged before the kill`);
        const consumer = await source.consumer({ group: 'check', topics: [CRASH_TOPIC] });
        const next = new Map<number, number>();
        const seen = new Set<string>();
        let read = 0;
        for (;;) {
          const batch = await consumer.poll({ maxRecords: 2_000, timeoutMs: 0 });
          if (batch.length === 0) break;
          for (const r of batch) {
            assert.equal(
              Number(r.offset),
              next.get(r.partition) ?? 0,
              `partition ${r.partition} offsets contiguous`,
            );
            next.set(r.partition, Number(r.offset) + 1);
            const { b, i } = JSON.parse(Buffer.from(r.value).toString()) as { b: number; i: number };
            assert.equal(Buffer.from(r.value).toString(), crashValue(b, i), 'record is whole');
            assert.equal(r.key, `site-${(b + i) % 11}`);
            seen.add(`${b}:${i}`);
          }
          read += batch.length;
        }
        assert.equal(read, total);
        assert.equal(seen.size, total, 'no record twice');
        for (let n = 0; n < acked; n++)
          assert.ok(seen.has(`${Math.floor(n / 100)}:${n % 100}`), `acked record ${n}`);
        // The log takes new writes after recovery, continuing the offsets.
        const [p] = await source.produce([{ topic: CRASH_TOPIC, partition: 0, value: 'after' }]);
        assert.equal(p!.offset, info.endOffsets[0]);
      } finally {
        await source.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
