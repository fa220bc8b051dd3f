/**
 * Guaranteed delivery across crashes: records in the embedded file-log Source are bridged
 * to an Artemis queue (`bash scripts/services up artemis`) by a child process that is
 * SIGKILLed twice — once at an arbitrary moment, once right after the broker accepted a
 * batch but before the Source commit — and then restarted to completion. Every record must
 * arrive at least once, byte for byte, and de-duplicating by message id must leave exactly
 * one message per record.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FileLogSource } from '@vigil/adapter-file-log';
import { createLogger } from '@vigil/core';
import { describe, it } from 'vitest';
import { AmqpQueueReader } from '../amqp/amqp-queue-reader.js';
import { artemisOptions, requireArtemis, testQueue } from '../testing/artemis.js';
import type { ReceivedQueueMessage } from '../transport/queue-transport.js';
import { CRASH_GROUP, CRASH_PARTITIONS, CRASH_TOPICS } from './bridge-crash.test-child.js';
import { recordMessageId } from './record-message.js';

const child = fileURLToPath(new URL('./bridge-crash.test-child.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RECORDS = 600;

interface Run {
  /** Records the run reported as forwarded (committed) before it ended. */
  forwarded: number;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/** Run the bridge child; SIGKILL it once it reported `killAt` forwarded records (if given). */
function runBridge(
  dir: string,
  queue: string,
  options: { killAt?: number; dieAfterSend?: number } = {},
): Promise<Run> {
  const args = ['--conditions=@vigil/source', '--import', tsx, child, dir, queue];
  if (options.dieAfterSend !== undefined) args.push(String(options.dieAfterSend));
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let buffered = '';
  let forwarded = 0;
  proc.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  proc.stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const m = /^forwarded (\d+)$/.exec(line);
      if (m) forwarded = Number(m[1]);
    }
    if (options.killAt !== undefined && forwarded >= options.killAt) proc.kill('SIGKILL');
  });
  return new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`bridge child did not finish in time (forwarded ${forwarded}): ${stderr}`));
    }, 30_000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === null && code !== 0) reject(new Error(`bridge child exited with ${code}: ${stderr}`));
      else resolve({ forwarded, signal, code });
    });
  });
}

function value(topic: string, i: number): string {
  return JSON.stringify({ topic, i, hr: 60 + (i % 40) });
}

describe('MQ bridge crash recovery (file-log → Artemis)', () => {
  it('loses nothing across SIGKILLs and marks every redelivery with the same message id', async () => {
    await requireArtemis();
    const dir = await mkdtemp(join(tmpdir(), 'vigil-mq-bridge-crash-'));
    const queue = testQueue('bridge-crash');
    try {
      // The records, in the embedded Source: two topics, three partitions each.
      const logger = createLogger({ level: 'silent' });
      const source = await FileLogSource.open({
        dir,
        defaultPartitions: CRASH_PARTITIONS,
        fsync: 'batch',
        segmentBytes: 1024 * 1024,
        logger,
      });
      const expected = new Map<string, string>();
      for (const topic of CRASH_TOPICS) await source.ensureTopic(topic, { partitions: CRASH_PARTITIONS });
      const records = Array.from({ length: RECORDS }, (_, i) => {
        const topic = CRASH_TOPICS[i % CRASH_TOPICS.length]!;
        return { topic, key: `site-${i % 7}`, value: value(topic, i), headers: { source: 'trial-app' } };
      });
      const positions = await source.produce(records);
      for (const [i, p] of positions.entries()) expected.set(recordMessageId(p), records[i]!.value);
      await source.close();

      // 1: killed from outside at an arbitrary point; 2: dies between the broker's accept and the commit.
      const first = await runBridge(dir, queue, { killAt: 120 });
      assert.equal(first.signal, 'SIGKILL');
      const second = await runBridge(dir, queue, { dieAfterSend: 3 });
      assert.equal(second.signal, 'SIGKILL');
      assert.equal(
        second.forwarded,
        2 * 40,
        'the second run committed two batches before dying after the third send',
      );
      const last = await runBridge(dir, queue);
      assert.equal(last.code, 0);

      // Everything is on the queue at least once, byte for byte; ids de-duplicate to one per record.
      const reader = await AmqpQueueReader.open(artemisOptions(), queue);
      const received: ReceivedQueueMessage[] = [];
      try {
        const unique = new Set<string>();
        const deadline = Date.now() + 15_000;
        while (unique.size < RECORDS && Date.now() < deadline) {
          for (const m of await reader.receive(500, 1_000)) {
            received.push(m);
            unique.add(m.messageId);
          }
        }
        // Anything left after all records arrived is a duplicate too; take it as well.
        for (
          let more = await reader.receive(500, 300);
          more.length > 0;
          more = await reader.receive(500, 300)
        ) {
          received.push(...more);
        }
        await reader.ack();
      } finally {
        await reader.close();
      }
      const byId = new Map<string, ReceivedQueueMessage>();
      for (const m of received) {
        const want = expected.get(m.messageId);
        assert.ok(want !== undefined, `unexpected message id ${m.messageId}`);
        assert.equal(Buffer.from(m.body).toString(), want, `body of ${m.messageId}`);
        const [topic, partition, offset] = m.messageId.split('/');
        assert.equal(m.properties.vigilTopic, topic);
        assert.equal(m.properties.vigilPartition, Number(partition));
        assert.equal(m.properties.vigilOffset, offset);
        assert.equal(m.properties.vigilHeaders, JSON.stringify({ source: 'trial-app' }));
        byId.set(m.messageId, m);
      }
      const missing = [...expected.keys()].filter((id) => !byId.has(id));
      assert.deepEqual(missing, [], 'no record is missing');
      assert.equal(byId.size, RECORDS, 'one message per record after de-duplication by id');
      const duplicates = received.length - byId.size;
      assert.ok(
        duplicates >= 40,
        `the batch accepted before the crash was sent again (${duplicates} duplicates)`,
      );

      // The group's committed offsets reached the end of every partition.
      const reopened = await FileLogSource.open({
        dir,
        defaultPartitions: CRASH_PARTITIONS,
        fsync: 'batch',
        segmentBytes: 1024 * 1024,
        logger,
      });
      try {
        const consumer = await reopened.consumer({ group: CRASH_GROUP, topics: CRASH_TOPICS });
        const committed = await consumer.committed();
        for (const topic of CRASH_TOPICS) {
          const { endOffsets } = await reopened.describeTopic(topic);
          for (const [partition, end] of endOffsets.entries()) {
            const c = committed.find((x) => x.topic === topic && x.partition === partition);
            assert.equal(c?.offset, end, `${topic}/${partition} committed to its end`);
          }
        }
        await consumer.close();
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
