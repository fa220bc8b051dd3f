/**
 * MQ bridge throughput: Vigil's bridge (file-log Source → poll → AMQP send, waiting for the
 * broker's accept → commit) against raw rhea sending the same messages to the same Artemis
 * (durable, waiting for every `accepted`), in the same run. Not part of the test suite.
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

/** Take every message off a queue (keeps the broker's journal small). */
async function drain(queue: string, count: number): Promise<number> {
  const reader = await AmqpQueueReader.open(options, queue);
  let n = 0;
  try {
    while (n < count) {
      const got = await reader.receive(1_000, 2_000);
      if (got.length === 0) break;
      n += got.length;
      await reader.ack();
    }
  } finally {
    await reader.close();
  }
  return n;
}

/** Raw rhea: one sender, every message durable with an id, batches of BATCH awaited like the bridge. */
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
      let settled = 0;
      const onAccepted = () => {
        settled += 1;
        if (settled === batch.length) done();
      };
      const onRejected = () => {
        done();
        reject(new Error('rejected'));
      };
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
      function done() {
        sender.removeListener('accepted', onAccepted);
        sender.removeListener('rejected', onRejected);
        sender.removeListener('sendable', pump);
        resolve();
      }
      sender.on('accepted', onAccepted);
      sender.on('rejected', onRejected);
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
  while (total < RECORDS) total += (await bridge.drainOnce(0)).forwarded;
  const ms = performance.now() - started;
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
  while (bodies.length < RECORDS) {
    for (const r of await consumer.poll({ maxRecords: 1_000, timeoutMs: 100 }))
      bodies.push(Buffer.from(recordMessage(r).body));
  }
  await consumer.close();
  await source.close();

  const rows: { name: string; ms: number }[] = [];
  for (const round of [1, 2]) {
    const rawQueue = queueName('raw');
    rows.push({ name: `raw rhea (round ${round})`, ms: await rawRhea(rawQueue, bodies) });
    await drain(rawQueue, RECORDS);
    const vigilQueue = queueName('vigil');
    const runDir = await mkdtemp(join(tmpdir(), 'vigil-bench-mq-run-'));
    // Each round bridges a fresh copy of the log, from offset 0.
    const { cp } = await import('node:fs/promises');
    await cp(dir, runDir, { recursive: true });
    await rm(join(runDir, 'LOCK'), { force: true });
    rows.push({ name: `vigil bridge (round ${round})`, ms: await vigilBridge(vigilQueue, runDir) });
    await rm(runDir, { recursive: true, force: true });
    await drain(vigilQueue, RECORDS);
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
} finally {
  await rm(dir, { recursive: true, force: true });
}
