/**
 * MQ bridge throughput: Vigil's bridge (file-log Source → poll → AMQP send, waiting for the
 * broker's accept → commit) against raw rhea sending the same messages to the same Artemis
 * (durable, waiting for every `accepted`), in the same run. Not part of the test suite.
 *
 * Fair and checked: each side must have every message accepted (a rejected, released or
 * modified message fails the run, it never counts as sent); the order alternates between
 * rounds; and after each side, its queue is read back in full and must hold exactly the
 * messages sent — same ids, same bodies byte for byte, no more, no fewer. Any difference exits
 * non-zero.
 *
 *   bash scripts/services up artemis
 *   node --conditions=@vigil/source --import tsx bench/mq-bridge/forward.ts [records] [batch]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLogSource } from '@vigil/adapter-file-log';
import { createLogger } from '@vigil/core';
import {
  closeAmqpConnection,
  loadRhea,
  openAmqpConnection,
} from '../../plugins/mq-bridge/src/amqp/amqp-connection.js';
import { AmqpQueueReader } from '../../plugins/mq-bridge/src/amqp/amqp-queue-reader.js';
import { AmqpQueueSink } from '../../plugins/mq-bridge/src/amqp/amqp-queue-sink.js';
import { MqBridge } from '../../plugins/mq-bridge/src/bridge/mq-bridge.js';
import { recordMessage } from '../../plugins/mq-bridge/src/bridge/record-message.js';
import { artemisOptions } from '../../plugins/mq-bridge/src/testing/artemis.js';

const RECORDS = Number(process.argv[2] ?? 5_000);
const BATCH = Number(process.argv[3] ?? 200);
const logger = createLogger({ level: 'silent' });
const options = artemisOptions({ sendTimeoutMs: 60_000 });

function queueName(what: string): string {
  return `vigil.test.bench.${what}.${process.pid}.${Date.now().toString(36)}`;
}

/** Take every message off a queue (keeps the broker's journal small); message id → body. */
async function drain(queue: string): Promise<{ messages: Map<string, Buffer>; duplicates: number }> {
  const reader = await AmqpQueueReader.open(options, queue);
  const messages = new Map<string, Buffer>();
  let duplicates = 0;
  try {
    for (;;) {
      const got = await reader.receive(1_000, 2_000);
      if (got.length === 0) break;
      for (const m of got) {
        if (messages.has(m.messageId)) duplicates += 1;
        messages.set(m.messageId, Buffer.from(m.body));
      }
      await reader.ack();
    }
  } finally {
    await reader.close();
  }
  return { messages, duplicates };
}

/** The queue holds exactly `expected` (id → body), in full; throws naming the first difference. */
async function checkQueue(side: string, queue: string, expected: Map<string, Buffer>): Promise<void> {
  const { messages, duplicates } = await drain(queue);
  const problems: string[] = [];
  if (duplicates > 0) problems.push(`${duplicates} duplicate message ids`);
  if (messages.size !== expected.size) problems.push(`${messages.size} messages, expected ${expected.size}`);
  let wrong = 0;
  let first = '';
  for (const [id, body] of expected) {
    const got = messages.get(id);
    if (!got?.equals(body)) {
      wrong += 1;
      first ||= got ? `${id} has other bytes` : `${id} is missing`;
    }
  }
  if (wrong > 0) problems.push(`${wrong} messages missing or different (first: ${first})`);
  if (problems.length > 0)
    throw new Error(`${side}: the queue does not hold what was sent: ${problems.join('; ')}`);
}

/**
 * Raw rhea: one sender, every message durable with an id, batches of BATCH awaited like the
 * bridge. Only `accepted` counts; any other outcome fails the run.
 */
async function rawRhea(queue: string, bodies: Buffer[]): Promise<number> {
  const { message } = await loadRhea();
  const connection = await openAmqpConnection(options);
  const sender = connection.open_sender({ target: { address: queue, capabilities: ['queue'] } });
  await new Promise((resolve) => sender.once('sendable', resolve));
  const started = performance.now();
  for (let from = 0; from < bodies.length; from += BATCH) {
    const batch = bodies.slice(from, from + BATCH);
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let accepted = 0;
      const onAccepted = () => {
        accepted += 1;
        if (accepted === batch.length) {
          done();
          resolve();
        }
      };
      const onRefused = (what: string) => () => {
        done();
        reject(new Error(`raw rhea: a message was ${what} by the broker (batch at ${from})`));
      };
      const onRejected = onRefused('rejected');
      const onReleased = onRefused('released');
      const onModified = onRefused('modified');
      const pump = () => {
        while (next < batch.length && sender.sendable()) {
          sender.send({
            message_id: `raw/${from + next}`,
            durable: true,
            body: message.data_section(batch[next]!),
          });
          next += 1;
        }
      };
      function done(): void {
        sender.removeListener('accepted', onAccepted);
        sender.removeListener('rejected', onRejected);
        sender.removeListener('released', onReleased);
        sender.removeListener('modified', onModified);
        sender.removeListener('sendable', pump);
      }
      sender.on('accepted', onAccepted);
      sender.on('rejected', onRejected);
      sender.on('released', onReleased);
      sender.on('modified', onModified);
      sender.on('sendable', pump);
      pump();
    });
  }
  const ms = performance.now() - started;
  await closeAmqpConnection(connection);
  return ms;
}

async function vigilBridge(queue: string, dir: string): Promise<number> {
  const source = await FileLogSource.open({
    dir,
    defaultPartitions: 4,
    fsync: 'batch',
    segmentBytes: 64 << 20,
    logger,
  });
  const sink = await AmqpQueueSink.open(options, queue);
  const bridge = new MqBridge({ source, sink, topics: ['vitals'], group: 'bench', batchSize: BATCH, logger });
  const started = performance.now();
  let total = 0;
  while (total < RECORDS) {
    const { forwarded } = await bridge.drainOnce(0);
    if (forwarded === 0 && total < RECORDS) {
      const { failures, lastError } = bridge.stats;
      if (failures > 0) throw new Error(`vigil bridge: a batch failed: ${String(lastError)}`);
    }
    total += forwarded;
  }
  const ms = performance.now() - started;
  if (total !== RECORDS) throw new Error(`vigil bridge: forwarded ${total} records, expected ${RECORDS}`);
  await bridge.stop();
  await sink.close();
  await source.close();
  return ms;
}

const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-mq-'));
try {
  const source = await FileLogSource.open({
    dir,
    defaultPartitions: 4,
    fsync: 'batch',
    segmentBytes: 64 << 20,
    logger,
  });
  await source.ensureTopic('vitals', { partitions: 4 });
  const values = Array.from({ length: RECORDS }, (_, i) =>
    JSON.stringify({
      patient: `p${i % 500}`,
      hr: 60 + (i % 50),
      ts: 1_700_000_000_000 + i * 1000,
      pad: 'x'.repeat(120),
    }),
  );
  for (let i = 0; i < RECORDS; i += 1_000) {
    await source.produce(
      values.slice(i, i + 1_000).map((value, j) => ({ topic: 'vitals', key: `site-${(i + j) % 9}`, value })),
    );
  }
  // The peer sends the very bytes the bridge sends (bodies of the records).
  const consumer = await source.consumer({ group: 'bodies', topics: ['vitals'] });
  const bodies: Buffer[] = [];
  // What each side's queue must hold afterwards: message id → body.
  const expectedVigil = new Map<string, Buffer>();
  while (bodies.length < RECORDS) {
    for (const r of await consumer.poll({ maxRecords: 1_000, timeoutMs: 100 })) {
      const m = recordMessage(r);
      bodies.push(Buffer.from(m.body));
      expectedVigil.set(m.messageId, Buffer.from(m.body));
    }
  }
  const expectedRaw = new Map(bodies.map((body, i) => [`raw/${i}`, body] as const));
  await consumer.close();
  await source.close();

  const rows: { name: string; ms: number }[] = [];
  const raw = async (round: number) => {
    const rawQueue = queueName('raw');
    rows.push({ name: `raw rhea (round ${round})`, ms: await rawRhea(rawQueue, bodies) });
    await checkQueue('raw rhea', rawQueue, expectedRaw);
  };
  const vigil = async (round: number) => {
    const vigilQueue = queueName('vigil');
    const runDir = await mkdtemp(join(tmpdir(), 'vigil-bench-mq-run-'));
    // Each round bridges a fresh copy of the log, from offset 0.
    const { cp } = await import('node:fs/promises');
    await cp(dir, runDir, { recursive: true });
    await rm(join(runDir, 'LOCK'), { force: true });
    rows.push({ name: `vigil bridge (round ${round})`, ms: await vigilBridge(vigilQueue, runDir) });
    await rm(runDir, { recursive: true, force: true });
    await checkQueue('vigil bridge', vigilQueue, expectedVigil);
  };
  // The order alternates: raw first in odd rounds, Vigil first in even ones.
  for (const round of [1, 2]) {
    if (round % 2 === 1) {
      await raw(round);
      await vigil(round);
    } else {
      await vigil(round);
      await raw(round);
    }
  }
  console.log(
    `${RECORDS} records of ~${bodies[0]!.length} bytes, batches of ${BATCH}, Artemis at ${options.host}:${options.port}`,
  );
  for (const { name, ms } of rows) {
    console.log(
      `${name.padEnd(26)} ${ms.toFixed(0).padStart(7)} ms  ${((RECORDS / ms) * 1000).toFixed(0).padStart(7)} msg/s`,
    );
  }
  const best = (prefix: string) =>
    Math.min(...rows.filter((r) => r.name.startsWith(prefix)).map((r) => r.ms));
  console.log(
    `ratio vigil bridge / raw rhea (best of 2, time): ${(best('vigil') / best('raw')).toFixed(2)}x`,
  );
  console.log(`outputs: both queues held exactly the ${RECORDS} messages sent (ids and bodies), every round`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
