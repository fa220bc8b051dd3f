/**
 * The inbound direction, from a real Artemis queue (`bash scripts/services up artemis`) into
 * the embedded file-log Source: duplicates dropped by message id, poison dead-lettered with
 * its reason, acknowledgement only after the Source has the batch, and a new process (a new
 * MqInbound over the same Source) that rebuilds its message-id index from the Source.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileLogSource } from '@vigil/adapter-file-log';
import type { ProduceRecord, Source, SourceRecord, TopicPartitionOffset } from '@vigil/core';
import { createLogger, isVigilError } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { AmqpQueueReader } from '../amqp/amqp-queue-reader.js';
import { AmqpQueueSink } from '../amqp/amqp-queue-sink.js';
import { mqBridgeConfig } from '../config.js';
import type { MqBridgePluginInstance } from '../index.js';
import { mqBridgePlugin } from '../index.js';
import { artemisOptions, requireArtemis, testQueue } from '../testing/artemis.js';
import type { QueueMessage, QueueReader } from '../transport/queue-transport.js';
import { DEAD_LETTER_REASON_HEADER, MESSAGE_ID_HEADER, QUEUE_HEADER } from './headers.js';
import { createMessageCheck, recordSchemaProblem } from './message-check.js';
import { MqInbound } from './mq-inbound.js';

const logger = createLogger({ level: 'silent' });

async function withSource<T>(use: (source: Source) => Promise<T>): Promise<T> {
  const ctx = await createTestContext();
  const source = await fileLogSource.create(
    fileLogSource.config.parse({ dir: join(ctx.workdir, 'log'), defaultPartitions: 2 }),
    ctx,
  );
  try {
    return await use(source);
  } finally {
    await source.close();
    await ctx.cleanup();
  }
}

async function send(queue: string, messages: QueueMessage[]): Promise<void> {
  const sink = await AmqpQueueSink.open(artemisOptions(), queue);
  try {
    await sink.send(messages);
  } finally {
    await sink.close();
  }
}

const msg = (id: string, body: string, properties: QueueMessage['properties'] = {}): QueueMessage => ({
  messageId: id,
  body: new TextEncoder().encode(body),
  properties,
});

/** Every record of the topics, read to their ends with a throwaway group. */
async function readTopic(source: Source, topic: string): Promise<SourceRecord[]> {
  const info = await source.describeTopic(topic);
  const total = info.endOffsets.reduce((n, e) => n + Number(e), 0);
  const consumer = await source.consumer({ group: `read-${Math.random()}`, topics: [topic] });
  const out: SourceRecord[] = [];
  try {
    while (out.length < total) {
      const got = await consumer.poll({ maxRecords: 1_000, timeoutMs: 500 });
      if (got.length === 0) break;
      out.push(...got);
    }
  } finally {
    await consumer.close();
  }
  return out;
}

/** Messages left on the queue (taken off it). */
async function drainQueue(queue: string): Promise<number> {
  const reader = await AmqpQueueReader.open(artemisOptions(), queue);
  try {
    let n = 0;
    for (;;) {
      const got = await reader.receive(500, 300);
      if (got.length === 0) break;
      n += got.length;
    }
    await reader.ack();
    return n;
  } finally {
    await reader.close();
  }
}

const inboundConfig = (queue: string, extra: Record<string, unknown> = {}) =>
  mqBridgeConfig.parse({
    transport: 'amqp',
    autoStart: false,
    amqp: artemisOptions(),
    retryDelayMs: 50,
    maxRetryDelayMs: 100,
    inbound: {
      routes: [{ queue, topic: 'hospital' }],
      deadLetterTopic: 'hospital-dlq',
      maxMessageBytes: 200,
      schema: {
        type: 'object',
        required: ['patientId', 'hr'],
        properties: { patientId: { type: 'string' }, hr: { type: 'number' } },
      },
      key: { field: 'patientId' },
      ...extra,
    },
  });

function inbound(source: Source, queue: string, openReader?: (q: string) => Promise<QueueReader>) {
  const config = inboundConfig(queue).inbound!;
  return new MqInbound({
    source,
    openReader: openReader ?? ((q) => AmqpQueueReader.open(artemisOptions(), q)),
    routes: config.routes,
    deadLetterTopic: config.deadLetterTopic,
    group: config.group,
    check: createMessageCheck(config, undefined),
    batchSize: 50,
    retryDelayMs: 20,
    maxRetryDelayMs: 50,
    logger,
  });
}

/** Drain until a batch comes back empty; the sum of what each batch did. */
async function drainAll(bridge: MqInbound) {
  let forwarded = 0;
  let duplicates = 0;
  let dead = 0;
  let received = 0;
  for (;;) {
    const [r] = await bridge.drainOnce(500);
    if (!r || r.received === 0) break;
    received += r.received;
    forwarded += r.forwarded;
    duplicates += r.duplicates;
    dead += r.deadLettered['too-large'] + r.deadLettered.unparseable + r.deadLettered.schema;
  }
  return { received, forwarded, duplicates, dead };
}

/** The real reader, whose first `n` acknowledgements fail (as when the broker goes away after the produce). */
function ackFailsFirst(n: number) {
  let left = n;
  return async (queue: string): Promise<QueueReader> => {
    const inner = await AmqpQueueReader.open(artemisOptions(), queue);
    return {
      queue,
      receive: (max, timeoutMs) => inner.receive(max, timeoutMs),
      async ack() {
        if (left > 0) {
          left -= 1;
          throw new Error('injected: the acknowledgement did not reach the broker');
        }
        return inner.ack();
      },
      close: () => inner.close(),
    };
  };
}

describe('MqInbound (Artemis → file-log)', () => {
  it('lands each good message once, drops duplicates by id and dead-letters poison with its reason', async () => {
    await requireArtemis();
    await withSource(async (source) => {
      const queue = testQueue('inbound');
      await send(queue, [
        msg('m1', '{"patientId":"p1","hr":71}', { siteId: 'site-1' }),
        msg('m2', '{"patientId":"p2","hr":80}'),
        msg('m1', '{"patientId":"p1","hr":71}'), // duplicate id
        msg('bad-json', '{"patientId":'),
        msg('too-big', JSON.stringify({ patientId: 'p3', hr: 1, pad: 'x'.repeat(300) })),
        msg('bad-schema', '{"patientId":"p4","hr":"fast"}'),
        msg('bad-json', '{"patientId":'), // a poison duplicate
        msg('m3', '{"patientId":"p1","hr":75}'),
      ]);
      const bridge = inbound(source, queue);
      try {
        const totals = await drainAll(bridge);
        assert.deepEqual(totals, { received: 8, forwarded: 3, duplicates: 2, dead: 3 });
        assert.deepEqual(bridge.stats.deadLettered, { 'too-large': 1, unparseable: 1, schema: 1 });
      } finally {
        await bridge.stop();
      }
      const good = await readTopic(source, 'hospital');
      assert.deepEqual(good.map((r) => r.headers[MESSAGE_ID_HEADER]).sort(), ['m1', 'm2', 'm3']);
      const m1 = good.find((r) => r.headers[MESSAGE_ID_HEADER] === 'm1')!;
      assert.equal(Buffer.from(m1.value).toString(), '{"patientId":"p1","hr":71}');
      assert.equal(m1.key, 'p1');
      assert.equal(m1.headers[QUEUE_HEADER], queue);
      assert.equal(m1.headers['mq-property-siteId'], 'site-1');
      const dead = await readTopic(source, 'hospital-dlq');
      assert.deepEqual(
        Object.fromEntries(
          dead.map((r) => [r.headers[MESSAGE_ID_HEADER], r.headers[DEAD_LETTER_REASON_HEADER]]),
        ),
        { 'bad-json': 'unparseable', 'too-big': 'too-large', 'bad-schema': 'schema' },
      );
      const schemaDead = dead.find((r) => r.headers[MESSAGE_ID_HEADER] === 'bad-schema')!;
      assert.match(schemaDead.headers['mq-dead-letter-detail']!, /^hr: /);
      assert.equal(schemaDead.headers['mq-target-topic'], 'hospital');
      assert.equal(await drainQueue(queue), 0, 'every message was acknowledged');
    });
  });

  it('acknowledges only after the produce: a lost acknowledgement redelivers, and the redelivery is dropped, also by a new process', async () => {
    await requireArtemis();
    await withSource(async (source) => {
      const queue = testQueue('inbound-ack');
      await send(
        queue,
        Array.from({ length: 30 }, (_, i) =>
          msg(`id-${i}`, JSON.stringify({ patientId: `p${i}`, hr: 60 + i })),
        ),
      );
      const first = inbound(source, queue, ackFailsFirst(1));
      await assert.rejects(first.drainOnce(500), /injected/);
      // The batch is in the Source but not acknowledged: the broker delivers it again.
      assert.equal((await readTopic(source, 'hospital')).length, 30);
      const again = await drainAll(first);
      assert.deepEqual(again, { received: 30, forwarded: 0, duplicates: 30, dead: 0 });
      assert.ok(first.stats.redelivered >= 30, `redelivered ${first.stats.redelivered}`);
      await first.stop();

      // A second process: its index comes from the Source's headers alone.
      await send(queue, [
        msg('id-3', '{"patientId":"p3","hr":63}'),
        msg('id-99', '{"patientId":"p9","hr":99}'),
      ]);
      const second = inbound(source, queue);
      try {
        assert.deepEqual(await drainAll(second), { received: 2, forwarded: 1, duplicates: 1, dead: 0 });
      } finally {
        await second.stop();
      }
      const ids = (await readTopic(source, 'hospital')).map((r) => r.headers[MESSAGE_ID_HEADER]);
      assert.equal(ids.length, 31);
      assert.equal(new Set(ids).size, 31);
    });
  });

  it('a produce that fails after storing part of the batch re-reads the Source and stores the rest once', async () => {
    await requireArtemis();
    await withSource(async (real) => {
      let failures = 1;
      // The real Source, whose first produce stores half the records and then fails.
      const source: Source = {
        get capabilities() {
          return real.capabilities;
        },
        ensureTopic: (t, o) => real.ensureTopic(t, o),
        describeTopic: (t) => real.describeTopic(t),
        consumer: (o) => real.consumer(o),
        close: () => real.close(),
        async produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]> {
          if (failures > 0 && records.length > 1) {
            failures -= 1;
            await real.produce(records.slice(0, Math.floor(records.length / 2)));
            throw new Error('injected: the Source failed half way');
          }
          return real.produce(records);
        },
      };
      const queue = testQueue('inbound-partial');
      await send(
        queue,
        Array.from({ length: 20 }, (_, i) =>
          msg(`id-${i}`, JSON.stringify({ patientId: `p${i}`, hr: 60 + i })),
        ),
      );
      const bridge = inbound(source, queue);
      try {
        const [r] = await bridge.drainOnce(500);
        assert.equal(r!.received, 20);
        assert.equal(r!.forwarded, 10, 'the retry produced only the half the Source did not have');
        assert.equal(r!.duplicates, 10);
        assert.equal(bridge.stats.failures, 1);
      } finally {
        await bridge.stop();
      }
      const ids = (await readTopic(real, 'hospital')).map((r) => r.headers[MESSAGE_ID_HEADER]);
      assert.equal(ids.length, 20);
      assert.equal(new Set(ids).size, 20);
      assert.equal(await drainQueue(queue), 0);
    });
  });

  it('the plugin runs both directions; a wrong queue name fails the start', async () => {
    await requireArtemis();
    await withSource(async (source) => {
      const queue = testQueue('inbound-plugin');
      const outQueue = testQueue('outbound-plugin');
      await source.ensureTopic('alerts', { partitions: 1 });
      await source.produce([{ topic: 'alerts', value: 'grade 3' }]);
      await send(queue, [msg('a', '{"patientId":"p1","hr":70}'), msg('b', 'nope')]);
      const ctx = await createTestContext({ ports: { source } });
      const config = mqBridgeConfig.parse({
        ...inboundConfig(queue),
        topics: ['alerts'],
        queue: outQueue,
        autoStart: true,
        pollTimeoutMs: 100,
      });
      const instance = (await mqBridgePlugin.create(config, ctx)) as MqBridgePluginInstance;
      try {
        const deadline = Date.now() + 10_000;
        while (
          Date.now() < deadline &&
          (instance.inbound!.stats.received < 2 || instance.bridge!.stats.forwarded < 1)
        ) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(instance.inbound!.stats.forwarded, 1);
        assert.equal(instance.inbound!.stats.deadLettered.unparseable, 1);
        assert.equal(instance.bridge!.stats.forwarded, 1);
      } finally {
        await instance.close?.();
        await instance.close?.();
        await ctx.cleanup();
      }
      assert.equal(await drainQueue(outQueue), 1);
      const bad = await createTestContext({ ports: { source } });
      try {
        await assert.rejects(
          mqBridgePlugin.create(inboundConfig('no spaces allowed'), bad),
          (e: unknown) => isVigilError(e) && e.code === 'VIGIL_QUEUE_INVALID_REQUEST',
        );
      } finally {
        await bad.cleanup();
      }
    });
  });
});

describe('mq-bridge inbound config and checks', () => {
  it('reports every problem with its path', () => {
    const result = mqBridgeConfig.safeParse({
      transport: 'amqp',
      queue: 'Q',
      inbound: {
        routes: [
          { queue: 'Q', topic: 'dlq' },
          { queue: 'Q', topic: 'x' },
        ],
        deadLetterTopic: 'dlq',
        format: 'bytes',
        schema: { type: 'object' },
        key: { field: 'siteId' },
      },
    });
    assert.equal(result.success, false);
    const paths = result.error!.issues.map((i) => i.path.join('.')).sort();
    assert.deepEqual(paths, [
      'inbound.key.field',
      'inbound.routes.0.topic',
      'inbound.routes.1.queue',
      'inbound.schema',
      'queue',
      'topics',
    ]);
    const none = mqBridgeConfig.safeParse({ transport: 'amqp' });
    assert.match(none.error!.issues[0]!.message, /at least one direction/);
    const inboundOnly = mqBridgeConfig.parse({
      transport: 'amqp',
      inbound: { routes: [{ queue: 'Q', topic: 't' }] },
    });
    assert.equal(inboundOnly.inbound!.deadLetterTopic, 'mq-dead-letters');
    assert.equal(inboundOnly.inbound!.key, 'message-id');
    assert.equal(inboundOnly.topics, undefined);
  });

  it('a JSON Schema requires every name in `required`, listed under properties or not', () => {
    const check = createMessageCheck(
      mqBridgeConfig.parse({
        transport: 'amqp',
        inbound: {
          routes: [{ queue: 'Q', topic: 't' }],
          schema: {
            type: 'object',
            required: ['patientId', 'vitals'],
            properties: { vitals: { type: 'object', required: ['hr'] } },
          },
        },
      }).inbound!,
      undefined,
    );
    const body = (v: unknown) => ({
      messageId: 'm',
      body: new TextEncoder().encode(JSON.stringify(v)),
      properties: {},
      redelivered: false,
    });
    assert.equal(check(body({ patientId: 'p', vitals: { hr: 1 } })).ok, true);
    const noPatient = check(body({ vitals: { hr: 1 } }));
    assert.ok(!noPatient.ok && noPatient.reason === 'schema' && noPatient.detail.startsWith('patientId'));
    const noHr = check(body({ patientId: 'p', vitals: {} }));
    assert.ok(!noHr.ok && noHr.detail.startsWith('vitals.hr'), JSON.stringify(noHr));
  });

  it("checks bodies against the job's record schema and names the field", () => {
    const schema = {
      fields: { kind: 'string', patientId: 'string', observedAt: 'timestamp', value: 'number' },
      required: ['kind', 'patientId', 'observedAt'],
      discriminator: { field: 'kind', kinds: { vital: ['value'], visit: [] } },
      enums: { kind: ['vital', 'visit'] },
    } as const;
    const ok = { kind: 'vital', patientId: 'p', observedAt: '2024-01-01T00:00:00Z', value: 1 };
    assert.equal(recordSchemaProblem(schema, ok), undefined);
    assert.equal(recordSchemaProblem(schema, [1]), 'the body must be a JSON object');
    assert.equal(recordSchemaProblem(schema, { ...ok, patientId: undefined }), 'patientId is required');
    assert.match(recordSchemaProblem(schema, { ...ok, observedAt: 'yesterday' })!, /^observedAt must be/);
    assert.equal(recordSchemaProblem(schema, { ...ok, value: 'high' }), 'value must be a number');
    assert.equal(recordSchemaProblem(schema, { ...ok, kind: 'lab' }), 'kind must be one of vital, visit');
    assert.equal(
      recordSchemaProblem(schema, { ...ok, value: undefined }),
      'value is required for kind vital',
    );
    const check = createMessageCheck(
      mqBridgeConfig.parse({
        transport: 'amqp',
        inbound: { routes: [{ queue: 'Q', topic: 't' }], schema: 'job' },
      }).inbound!,
      schema,
    );
    const body = (v: unknown) => ({
      messageId: '',
      body: new TextEncoder().encode(JSON.stringify(v)),
      properties: {},
      redelivered: false,
    });
    assert.deepEqual(check(body(ok)).ok, true);
    const bad = check(body({ ...ok, value: 'x' }));
    assert.equal(bad.ok, false);
    assert.match(bad.id, /^sha256:[0-9a-f]{64}$/, 'a message without id is deduplicated by its body');
    assert.throws(
      () =>
        createMessageCheck(
          mqBridgeConfig.parse({
            transport: 'amqp',
            inbound: { routes: [{ queue: 'Q', topic: 't' }], schema: 'job' },
          }).inbound!,
          undefined,
        ),
      (e: unknown) => isVigilError(e) && e.code === 'VIGIL_QUEUE_INVALID_REQUEST',
    );
  });
});
