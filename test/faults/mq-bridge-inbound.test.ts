/**
 * Fault test of the MQ bridge's inbound direction: hospital messages on a real Artemis queue
 * (`bash scripts/services up artemis`) consumed into the embedded file-log Source by the
 * shipped code path (mq-bridge-inbound-child.ts: default registry, config file, kernel,
 * plugin — no recovery code of its own), while the consumer is SIGKILLed three times
 * (deterministically after a produce and before the acknowledgement, before a produce, and at
 * a random moment) and the broker is restarted under it. 3,570 messages go in: 3,000 good
 * clinical events, 400 resends of good ids, 150 poison messages (unparseable, over size,
 * failing the job's record schema) and 20 resends of poison ids. Every good message must be
 * in the topic exactly once, byte for byte, every poison one in the dead-letter topic exactly
 * once with its reason, the queue must end empty, and the counts must reconcile exactly with
 * what was sent. The logs must show redelivered batches whose messages were dropped as
 * duplicates (a killed consumer had produced them but not acknowledged them). Finally the
 * job's shipped ingest takes the topic into bronze: 3,000 rows, 3,000 distinct payloads.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { FileLogSource } from '@vigil/adapter-file-log';
import { localLake } from '@vigil/adapter-local-lake';
import { createLogger, createRng, type SourceRecord } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { AmqpQueueReader } from '../../plugins/mq-bridge/src/amqp/amqp-queue-reader.js';
import { AmqpQueueSink } from '../../plugins/mq-bridge/src/amqp/amqp-queue-sink.js';
import {
  DEAD_LETTER_REASON_HEADER,
  MESSAGE_ID_HEADER,
  QUEUE_HEADER,
} from '../../plugins/mq-bridge/src/inbound/headers.js';
import { artemisOptions, requireArtemis, testQueue } from '../../plugins/mq-bridge/src/testing/artemis.js';
import type { QueueMessage } from '../../plugins/mq-bridge/src/transport/queue-transport.js';
import { bronzeCounts, finishes, startChild } from './ingest-child-runner.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const child = fileURLToPath(new URL('./mq-bridge-inbound-child.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const GOOD = 3_000;
const GOOD_RESENDS = 400;
const POISON = { unparseable: 60, 'too-large': 40, schema: 50 } as const;
const POISON_RESENDS = 20;
/** The job's vitals topic, so the final stage can ingest it into bronze. */
const TOPIC = 'vitals';
const DLQ = 'hospital-dead-letters';
const MAX_BYTES = 2_048;
const SITES = ['site-01', 'site-02', 'site-03', 'site-04'];

type Reason = keyof typeof POISON;

interface Sent {
  messages: QueueMessage[];
  good: Map<string, string>;
  poison: Map<string, Reason>;
}

/** The messages, in a seeded shuffled order, with what each id should become. */
function messages(seed: number): Sent {
  const rng = createRng(seed);
  const good = new Map<string, string>();
  const poison = new Map<string, Reason>();
  const unique: QueueMessage[] = [];
  const enc = (s: string) => new TextEncoder().encode(s);
  for (let i = 0; i < GOOD; i++) {
    const id = `EHR-${i.toString().padStart(6, '0')}`;
    const body = JSON.stringify({
      eventId: id,
      kind: 'vital',
      patientId: `P-${i % 97}`,
      siteId: SITES[i % SITES.length],
      observedAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
      origin: 'ehr',
      measure: 'heart_rate',
      value: 55 + rng.int(60),
      unit: 'bpm',
    });
    good.set(id, body);
    unique.push({ messageId: id, body: enc(body), properties: { sendingSystem: 'EHR' } });
  }
  let p = 0;
  for (const [reason, n] of Object.entries(POISON) as [Reason, number][]) {
    for (let i = 0; i < n; i++, p++) {
      const id = `EHR-POISON-${p}`;
      const body =
        reason === 'unparseable'
          ? `{"eventId":"${id}","kind":"vital",`
          : reason === 'too-large'
            ? JSON.stringify({ eventId: id, kind: 'vital', note: 'x'.repeat(MAX_BYTES) })
            : JSON.stringify({
                eventId: id,
                kind: 'vital',
                patientId: 'P-1',
                siteId: 'site-01',
                origin: 'ehr',
              });
      poison.set(id, reason);
      unique.push({ messageId: id, body: enc(body), properties: {} });
    }
  }
  const goodIds = [...good.keys()];
  const poisonIds = [...poison.keys()];
  const resends: QueueMessage[] = [];
  const byId = new Map(unique.map((m) => [m.messageId, m]));
  for (let i = 0; i < GOOD_RESENDS; i++) resends.push(byId.get(goodIds[rng.int(goodIds.length)]!)!);
  for (let i = 0; i < POISON_RESENDS; i++) resends.push(byId.get(poisonIds[rng.int(poisonIds.length)]!)!);
  const all = [...unique, ...resends];
  for (let i = all.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return { messages: all, good, poison };
}

async function send(queue: string, batch: readonly QueueMessage[]): Promise<void> {
  const sink = await AmqpQueueSink.open(artemisOptions(), queue);
  try {
    for (let i = 0; i < batch.length; i += 250) await sink.send(batch.slice(i, i + 250));
  } finally {
    await sink.close();
  }
}

interface BatchLog {
  received: number;
  forwarded: number;
  duplicates: number;
  redelivered: number;
}

interface ChildRun {
  signal: NodeJS.Signals | null;
  code: number | null;
  batches: BatchLog[];
  stderr: string;
}

/**
 * Run the bridge child. `until` decides, on each log line, whether to stop it now — with
 * SIGKILL (a crash) or SIGTERM (a clean stop); `onBatch` may act on the broker meanwhile.
 */
function runChild(
  config: string,
  options: {
    env?: Record<string, string>;
    stop?: (batches: BatchLog[], line: Record<string, unknown>) => NodeJS.Signals | undefined;
    /** Wait this long between deciding to stop and sending the signal (lands mid-batch). */
    stopDelayMs?: number;
    timeoutMs?: number;
  } = {},
): Promise<ChildRun> {
  const proc = spawn(process.execPath, ['--conditions=@vigil/source', '--import', tsx, child, config], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const batches: BatchLog[] = [];
  let stderr = '';
  let buffered = '';
  let stopping = false;
  proc.stdout.resume();
  proc.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const raw of lines) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (line.msg === 'mq-bridge inbound batch') batches.push(line as unknown as BatchLog);
      const signal = stopping ? undefined : options.stop?.(batches, line);
      if (signal) {
        stopping = true;
        setTimeout(() => proc.kill(signal), options.stopDelayMs ?? 0);
      }
    }
  });
  return new Promise<ChildRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`bridge child did not finish in time; stderr tail:\n${stderr.slice(-3_000)}`));
    }, options.timeoutMs ?? 120_000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, batches, stderr });
    });
  });
}

async function restartBroker(): Promise<void> {
  const services = join(repoRoot, 'scripts/services');
  await run('bash', [services, 'down', 'artemis'], { timeout: 120_000 });
  await run('bash', [services, 'up', 'artemis'], { timeout: 180_000 });
}

async function readTopic(source: FileLogSource, topic: string): Promise<SourceRecord[]> {
  const info = await source.describeTopic(topic);
  const total = info.endOffsets.reduce((n, e) => n + Number(e), 0);
  const consumer = await source.consumer({ group: 'fault-test-reader', topics: [topic] });
  const out: SourceRecord[] = [];
  try {
    while (out.length < total) {
      const got = await consumer.poll({ maxRecords: 2_000, timeoutMs: 500 });
      if (got.length === 0) break;
      out.push(...got);
    }
  } finally {
    await consumer.close();
  }
  return out;
}

async function leftOnQueue(queue: string): Promise<number> {
  const reader = await AmqpQueueReader.open(artemisOptions(), queue);
  try {
    let n = 0;
    for (;;) {
      const got = await reader.receive(500, 1_000);
      if (got.length === 0) break;
      n += got.length;
    }
    await reader.ack();
    return n;
  } finally {
    await reader.close();
  }
}

const sum = (batches: BatchLog[], key: keyof BatchLog) => batches.reduce((n, b) => n + b[key], 0);

describe('MQ bridge inbound under faults (Artemis → file-log, shipped code path)', () => {
  it('lands every good message exactly once and every poison one in the DLQ across 3 SIGKILLs and a broker restart', async () => {
    await requireArtemis();
    const seed = Number(process.env.VIGIL_FAULT_SEED ?? Date.now() % 1_000_000);
    const rng = createRng(`kill-${seed}`);
    const dir = await mkdtemp(join(tmpdir(), 'vigil-mq-inbound-fault-'));
    const queue = testQueue('inbound-fault');
    const opts = artemisOptions();
    const config = join(dir, 'vigil.yaml');
    await writeFile(
      config,
      [
        'version: 1',
        'preset: local',
        `workdir: ${JSON.stringify(join(dir, 'work'))}`,
        'log: { level: info }',
        'ports:',
        `  source: { config: { dir: ${JSON.stringify(join(dir, 'log'))}, defaultPartitions: 4, fsync: batch } }`,
        'plugins:',
        '  - name: mq-bridge',
        '    config:',
        '      transport: amqp',
        `      amqp: { host: ${opts.host}, port: ${opts.port}, username: '\${env:VIGIL_AMQP_USER}', password: '\${env:VIGIL_AMQP_PASSWORD}', connectTimeoutMs: 3000 }`,
        '      retryDelayMs: 200',
        '      maxRetryDelayMs: 1000',
        '      inbound:',
        `        routes: [{ queue: ${queue}, topic: ${TOPIC} }]`,
        `        deadLetterTopic: ${DLQ}`,
        '        format: json',
        '        schema: job',
        `        maxMessageBytes: ${MAX_BYTES}`,
        '        key: { field: siteId }',
        '        batchSize: 100',
        '        receiveTimeoutMs: 300',
      ].join('\n'),
    );
    const env = { VIGIL_AMQP_USER: opts.username ?? '', VIGIL_AMQP_PASSWORD: opts.password ?? '' };
    const sent = messages(seed);
    const half = Math.floor(sent.messages.length / 2);
    const all: BatchLog[] = [];
    try {
      await send(queue, sent.messages.slice(0, half));

      // 1. Killed by the product's own fault point: the 4th batch is in the Source, not acknowledged.
      const r1 = await runChild(config, { env: { ...env, VIGIL_FAULT_KILL_AT: 'mq-after-produce:4' } });
      assert.equal(r1.signal, 'SIGKILL', `run 1 should die at its fault point:\n${r1.stderr.slice(-2_000)}`);
      assert.equal(r1.batches.length, 3, 'three batches acknowledged before the kill');
      all.push(...r1.batches);

      // 2. Killed before a produce (received, nothing written).
      const r2 = await runChild(config, { env: { ...env, VIGIL_FAULT_KILL_AT: 'mq-before-produce:3' } });
      assert.equal(r2.signal, 'SIGKILL');
      // Its first batch is run 1's 4th batch again, delivered anew (a dropped connection does not
      // count as a delivery attempt, so Artemis need not mark it redelivered): every message of
      // it is already in the Source, so all are dropped as duplicates.
      const first = r2.batches[0]!;
      assert.equal(first.received, 100, `run 2 starts with a full batch: ${JSON.stringify(first)}`);
      assert.equal(
        first.duplicates,
        100,
        `run 2's first batch is run 1's unacknowledged one: ${JSON.stringify(first)}`,
      );
      all.push(...r2.batches);

      // 3. Killed from outside at a random moment.
      const killAfter = 2 + rng.int(6);
      const killDelayMs = rng.int(300);
      const r3 = await runChild(config, {
        env,
        stop: (batches) => (batches.length >= killAfter ? 'SIGKILL' : undefined),
        stopDelayMs: killDelayMs,
      });
      assert.equal(r3.signal, 'SIGKILL');
      all.push(...r3.batches);

      // 4. The rest is sent; the broker restarts under a running consumer, which then drains the queue.
      await send(queue, sent.messages.slice(half));
      let restarted: Promise<void> | undefined;
      let restartDone = false;
      const r4 = await runChild(config, {
        env,
        timeoutMs: 300_000,
        stop: (batches, line) => {
          if (!restarted && batches.length >= 3) {
            restarted = restartBroker().then(() => {
              restartDone = true;
            });
          }
          return restartDone && line.msg === 'mq-bridge inbound idle' ? 'SIGTERM' : undefined;
        },
      });
      await restarted;
      assert.ok(restartDone, 'the broker was restarted while the consumer ran');
      assert.equal(r4.code, 0, `run 4 stops cleanly on SIGTERM:\n${r4.stderr.slice(-2_000)}`);
      assert.match(
        r4.stderr,
        /mq-bridge inbound batch failed/,
        'the restart broke the consumer at least once',
      );
      all.push(...r4.batches);

      assert.equal(await leftOnQueue(queue), 0, 'every message was acknowledged');

      const logger = createLogger({ level: 'silent' });
      const source = await FileLogSource.open({
        dir: join(dir, 'log'),
        defaultPartitions: 4,
        fsync: 'batch',
        segmentBytes: 64 * 1024 * 1024,
        logger,
      });
      try {
        const good = await readTopic(source, TOPIC);
        const dead = await readTopic(source, DLQ);
        // Exactly once: as many records as distinct ids, and those ids are the ones sent.
        assert.equal(good.length, GOOD, 'good messages in the topic');
        const goodIds = good.map((r) => r.headers[MESSAGE_ID_HEADER]!);
        assert.equal(new Set(goodIds).size, GOOD, 'no good message twice');
        for (const r of good) {
          const id = r.headers[MESSAGE_ID_HEADER]!;
          assert.equal(Buffer.from(r.value).toString(), sent.good.get(id), `body of ${id}`);
          assert.equal(r.key, JSON.parse(sent.good.get(id)!).siteId, `key of ${id}`);
          assert.equal(r.headers[QUEUE_HEADER], queue);
        }
        const poisonTotal = Object.values(POISON).reduce((a, b) => a + b, 0);
        assert.equal(dead.length, poisonTotal, 'poison messages in the dead-letter topic');
        const reasons = new Map(
          dead.map((r) => [r.headers[MESSAGE_ID_HEADER]!, r.headers[DEAD_LETTER_REASON_HEADER]]),
        );
        assert.equal(reasons.size, poisonTotal, 'no poison message twice');
        assert.deepEqual(reasons, sent.poison);
        const byReason = Object.fromEntries(Object.keys(POISON).map((k) => [k, 0])) as Record<Reason, number>;
        for (const reason of reasons.values()) byReason[reason as Reason] += 1;
        assert.deepEqual(byReason, POISON);
        // Redeliveries happened and were dropped: besides the injected resends, the acknowledged
        // batches dropped the messages a killed consumer had produced but not acknowledged.
        const dropped = sum(all, 'duplicates');
        assert.ok(
          dropped > GOOD_RESENDS + POISON_RESENDS,
          `dropped ${dropped} duplicates: more than the ${GOOD_RESENDS + POISON_RESENDS} injected resends`,
        );
        process.stdout.write(
          `mq-bridge inbound fault test (seed ${seed}): sent ${sent.messages.length}, topic ${good.length}, DLQ ${dead.length}, ` +
            `acknowledged batches ${all.length}, received in them ${sum(all, 'received')}, redelivered ${sum(all, 'redelivered')}, ` +
            `duplicates dropped ${dropped}, random kill ${killDelayMs} ms after batch ${killAfter}\n`,
        );
      } finally {
        await source.close();
      }

      // 5. The job's shipped ingest takes the topic into bronze: each hospital message is one row.
      const ingest = await finishes(
        startChild({
          source: { kind: 'file-log', dir: join(dir, 'log') },
          lake: { kind: 'local', dir: join(dir, 'lake') },
          topics: [TOPIC],
          group: 'bronze',
          workdir: join(dir, 'ingest'),
          batchSize: 1_000,
        }),
      );
      assert.equal(ingest.sourceRecords, GOOD);
      const ctx = await createTestContext();
      const lake = await localLake.create(localLake.config.parse({ dir: join(dir, 'lake') }), ctx);
      try {
        const bronze = await bronzeCounts(lake, lake.defaultBranch, join(dir, 'bronze-check'));
        assert.deepEqual(bronze, { rows: GOOD, keys: GOOD, payloads: GOOD, staged: 0 });
      } finally {
        await lake.close();
        await ctx.cleanup();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
