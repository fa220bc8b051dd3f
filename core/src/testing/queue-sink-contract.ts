/**
 * Contract suite for queue transports: the sending side of the MQ bridge (AMQP 1.0, IBM MQ's
 * MQI, …) plus the reader tests use to look at the queue. It is not a port: the transport
 * interface lives in `@vigil/plugin-mq-bridge`, and this suite states the shape it needs
 * structurally, so core never imports the plugin. Every transport must give:
 *
 * - a message comes out with the id, body bytes and properties it went in with, in send order;
 * - `send()` resolves only once the broker accepted (durably stored) every message: a fresh
 *   client sees them even when the sink closed right away, and a refused message rejects it;
 * - a message received but not acknowledged is delivered again to the next client;
 * - ids are kept as given, so a message sent twice is detectable as a duplicate;
 * - an invalid queue name fails with `VIGIL_QUEUE_INVALID_REQUEST` naming the queue;
 * - `close()` is idempotent and a send after it fails with `VIGIL_KERNEL_CLOSED`.
 *
 * Each fixture gives the cases an empty queue of their own.
 */
import assert from 'node:assert/strict';
import { isVigilError } from '../errors.js';
import { type Contract, type ContractCase, type ContractFixture, skipCase } from './contract.js';

/** Values a message property may hold (what AMQP application properties and MQ properties share). */
export type QueuePropertyValue = string | number | boolean;

export interface ContractQueueMessage {
  /** Unique id of the message; a resent message keeps it, so duplicates are detectable. */
  messageId: string;
  body: Uint8Array;
  properties: Record<string, QueuePropertyValue>;
}

export interface ContractReceivedQueueMessage extends ContractQueueMessage {
  /** True when the broker delivered this message before (to a client that did not acknowledge it). */
  redelivered: boolean;
}

export interface ContractQueueSink {
  readonly capabilities: object;
  /** Resolves only when the broker accepted (settled, durably stored) every message. */
  send(messages: readonly ContractQueueMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface ContractQueueReader {
  /** Up to `max` messages, waiting at most `timeoutMs` for the first ones. */
  receive(max: number, timeoutMs: number): Promise<ContractReceivedQueueMessage[]>;
  /** Acknowledge every message received so far; unacknowledged ones return to the queue on close. */
  ack(): Promise<void>;
  close(): Promise<void>;
}

export interface QueueSinkFixture extends ContractFixture<ContractQueueSink> {
  /** The (empty) queue `impl` sends to. */
  queue: string;
  /** A new reader of `queue` on a connection of its own (a second client). */
  reader(): Promise<ContractQueueReader>;
  /** A new sink for another queue; may throw for an invalid name, or fail on first send. */
  sinkFor(queue: string): Promise<ContractQueueSink>;
  /**
   * A sink for a queue on which the broker refuses to store messages (full, or forbidden),
   * to show `send()` waits for the broker's verdict. Leave undefined when the broker cannot
   * be set up that way; the case is then skipped.
   */
  refusingSink?: () => Promise<ContractQueueSink>;
  /** How long a reader waits for messages the case expects (ms). Default 5000. */
  waitMs?: number;
}

type QueueCase = ContractCase<QueueSinkFixture>;

const encoder = new TextEncoder();

let sequence = 0;

/** A message id unique to this process and case. */
function uniqueId(prefix: string): string {
  sequence += 1;
  return `${prefix}/${process.pid}/${Date.now().toString(36)}/${sequence}`;
}

function message(
  messageId: string,
  body: string | Uint8Array,
  properties: Record<string, QueuePropertyValue> = {},
): ContractQueueMessage {
  return { messageId, body: typeof body === 'string' ? encoder.encode(body) : body, properties };
}

/** Receive until `count` messages arrived or `deadlineMs` passed; returns what arrived. */
async function receiveAll(
  fixture: QueueSinkFixture,
  reader: ContractQueueReader,
  count: number,
): Promise<ContractReceivedQueueMessage[]> {
  const out: ContractReceivedQueueMessage[] = [];
  const deadline = Date.now() + (fixture.waitMs ?? 5_000);
  while (out.length < count && Date.now() < deadline) {
    out.push(
      ...(await reader.receive(count - out.length, Math.min(500, Math.max(1, deadline - Date.now())))),
    );
  }
  return out;
}

async function withReader<T>(
  fixture: QueueSinkFixture,
  use: (reader: ContractQueueReader) => Promise<T>,
): Promise<T> {
  const reader = await fixture.reader();
  try {
    return await use(reader);
  } finally {
    await reader.close();
  }
}

function bytes(value: Uint8Array): number[] {
  return [...value];
}

function expectCode(code: Parameters<typeof isVigilError>[1], mention?: string) {
  return (error: unknown) => {
    assert.ok(isVigilError(error, code), `expected ${code}, got ${String(error)}`);
    if (mention !== undefined) {
      assert.ok(error.message.includes(mention), `message should name '${mention}': ${error.message}`);
    }
    return true;
  };
}

const cases: QueueCase[] = [
  {
    name: 'a reader receives every message with its id, body and properties, in send order',
    async run(fixture) {
      const binary = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
      const sent = [
        message(uniqueId('a'), '{"event":"vital","hr":71}', {
          vigilTopic: 'vitals',
          vigilPartition: 3,
          flagged: true,
          score: 2.5,
          site: 'Zürich-01 ✓',
        }),
        message(uniqueId('b'), binary, { count: -7, big: 2 ** 40, off: false }),
        message(uniqueId('c'), new Uint8Array(0), {}),
      ];
      await fixture.impl.send(sent.slice(0, 2));
      await fixture.impl.send(sent.slice(2));
      await withReader(fixture, async (reader) => {
        const got = await receiveAll(fixture, reader, sent.length);
        assert.deepEqual(
          got.map((m) => m.messageId),
          sent.map((m) => m.messageId),
          'every message arrives once, in send order',
        );
        for (const [i, m] of got.entries()) {
          const want = sent[i]!;
          assert.deepEqual(bytes(m.body), bytes(want.body), `body of ${want.messageId}`);
          assert.deepEqual(m.properties, want.properties, `properties of ${want.messageId}`);
          assert.equal(m.redelivered, false, 'a first delivery is not marked redelivered');
        }
        await reader.ack();
      });
    },
  },
  {
    name: 'every message of a resolved send is on the queue for a new client, even when the sink closed right away',
    async run(fixture) {
      const sink = await fixture.sinkFor(fixture.queue);
      const sent = Array.from({ length: 25 }, (_, i) => message(uniqueId('d'), `durable-${i}`, { i }));
      try {
        await sink.send(sent);
      } finally {
        await sink.close();
      }
      await withReader(fixture, async (reader) => {
        const got = await receiveAll(fixture, reader, sent.length);
        assert.deepEqual(
          got.map((m) => m.messageId),
          sent.map((m) => m.messageId),
          'a resolved send left every message on the queue',
        );
        await reader.ack();
      });
    },
  },
  {
    name: 'a send the broker refuses rejects instead of resolving',
    async run(fixture) {
      if (!fixture.refusingSink) skipCase('the fixture cannot make the broker refuse messages');
      const sink = await fixture.refusingSink();
      try {
        const batch = Array.from({ length: 5 }, (_, i) => message(uniqueId('r'), `refused-${i}`.repeat(50)));
        await assert.rejects(
          () => sink.send(batch),
          (error: unknown) => {
            assert.ok(error instanceof Error, `send rejects with an Error, got ${String(error)}`);
            return true;
          },
          'a send must not resolve while the broker refuses its messages',
        );
      } finally {
        await sink.close();
      }
    },
  },
  {
    name: 'a message received but not acknowledged is delivered again to the next client',
    async run(fixture) {
      const sent = [message(uniqueId('u'), 'first', { n: 1 }), message(uniqueId('u'), 'second', { n: 2 })];
      await fixture.impl.send(sent);
      const first = await fixture.reader();
      try {
        const got = await receiveAll(fixture, first, sent.length);
        assert.deepEqual(
          got.map((m) => m.messageId),
          sent.map((m) => m.messageId),
        );
      } finally {
        await first.close(); // no ack: the messages go back to the queue
      }
      await withReader(fixture, async (second) => {
        const again = await receiveAll(fixture, second, sent.length);
        assert.deepEqual(
          again.map((m) => m.messageId),
          sent.map((m) => m.messageId),
          'unacknowledged messages are delivered again',
        );
        for (const m of again) assert.equal(m.redelivered, true, `${m.messageId} is marked redelivered`);
        assert.deepEqual(
          again.map((m) => m.properties),
          sent.map((m) => m.properties),
        );
        await second.ack();
      });
      await withReader(fixture, async (third) => {
        const rest = await third.receive(10, 500);
        assert.deepEqual(
          rest.map((m) => m.messageId),
          [],
          'acknowledged messages are gone',
        );
      });
    },
  },
  {
    name: 'a message sent twice arrives twice with the same id (duplicates are detectable)',
    async run(fixture) {
      const m = message(uniqueId('dup'), 'same', { attempt: 1 });
      await fixture.impl.send([m]);
      await fixture.impl.send([m]);
      await withReader(fixture, async (reader) => {
        const got = await receiveAll(fixture, reader, 2);
        assert.deepEqual(
          got.map((x) => x.messageId),
          [m.messageId, m.messageId],
        );
        await reader.ack();
      });
    },
  },
  {
    name: 'an invalid queue name fails with VIGIL_QUEUE_INVALID_REQUEST naming the queue',
    async run(fixture) {
      for (const name of ['', 'has a space', `${fixture.queue}\n`]) {
        await assert.rejects(
          async () => {
            const sink = await fixture.sinkFor(name);
            try {
              await sink.send([message(uniqueId('bad'), 'never stored')]);
            } finally {
              await sink.close();
            }
          },
          expectCode('VIGIL_QUEUE_INVALID_REQUEST', JSON.stringify(name)),
          `queue name ${JSON.stringify(name)}`,
        );
      }
    },
  },
  {
    name: 'a malformed message fails with VIGIL_QUEUE_INVALID_REQUEST and nothing of its batch is sent',
    async run(fixture) {
      const good = message(uniqueId('ok'), 'fine');
      const malformed: unknown[] = [
        { messageId: '', body: encoder.encode('x'), properties: {} },
        { messageId: uniqueId('p'), body: encoder.encode('x'), properties: { 'not a name': 1 } },
        { messageId: uniqueId('p'), body: encoder.encode('x'), properties: { nested: { a: 1 } } },
        { messageId: uniqueId('p'), body: 'not bytes', properties: {} },
      ];
      for (const [i, bad] of malformed.entries()) {
        await assert.rejects(
          () => fixture.impl.send([good, bad as ContractQueueMessage]),
          expectCode('VIGIL_QUEUE_INVALID_REQUEST', 'messages[1]'),
          `malformed message #${i}`,
        );
      }
      await withReader(fixture, async (reader) => {
        const got = await reader.receive(10, 500);
        assert.deepEqual(
          got.map((m) => m.messageId),
          [],
          'a batch with a malformed message sends nothing',
        );
      });
    },
  },
  {
    name: 'an empty send resolves; close is idempotent and a send after close fails with VIGIL_KERNEL_CLOSED',
    async run(fixture) {
      const sink = await fixture.sinkFor(fixture.queue);
      await sink.send([]);
      await sink.close();
      await sink.close();
      await assert.rejects(
        () => sink.send([message(uniqueId('closed'), 'late')]),
        expectCode('VIGIL_KERNEL_CLOSED'),
      );
      const reader = await fixture.reader();
      await reader.close();
      await reader.close();
      await withReader(fixture, async (r) => {
        assert.deepEqual(
          (await r.receive(10, 300)).map((m) => m.messageId),
          [],
          'nothing was sent after close',
        );
      });
    },
  },
];

export const queueSinkContract: Contract<QueueSinkFixture> = { port: 'queue-sink', cases };
