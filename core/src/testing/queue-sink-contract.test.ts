/**
 * The queue-sink contract must catch broken transports. Core cannot depend on the MQ bridge,
 * so this test carries a small in-memory reference broker and transport (correct, and shown
 * to pass every case) and wraps it with one injected bug at a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { VigilError } from '../errors.js';
import type { ContractReport } from './contract.js';
import { checkContract } from './contract.js';
import type {
  ContractQueueMessage,
  ContractQueueReader,
  ContractQueueSink,
  ContractReceivedQueueMessage,
  QueueSinkFixture,
} from './queue-sink-contract.js';
import { queueSinkContract } from './queue-sink-contract.js';

interface Stored {
  message: ContractQueueMessage;
  deliveries: number;
}

/** The broker: queues of stored messages; a refusing queue takes nothing. */
class MemoryBroker {
  readonly queues = new Map<string, Stored[]>();
  readonly refusing = new Set<string>();

  queue(name: string): Stored[] {
    let q = this.queues.get(name);
    if (!q) {
      q = [];
      this.queues.set(name, q);
    }
    return q;
  }

  /** Store one message after a network round trip; rejects when the queue refuses it. */
  async accept(queue: string, message: ContractQueueMessage): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (this.refusing.has(queue)) throw new Error(`queue ${queue} is full`);
    this.queue(queue).push({ message: structuredClone(message), deliveries: 0 });
  }
}

const propertyName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_QUEUE_INVALID_REQUEST', message);
}

function validate(messages: readonly ContractQueueMessage[]): void {
  for (const [i, m] of messages.entries()) {
    if (typeof m.messageId !== 'string' || m.messageId === '') {
      throw invalid(`messages[${i}].messageId must be a non-empty string`);
    }
    if (!(m.body instanceof Uint8Array)) throw invalid(`messages[${i}].body must be a Uint8Array`);
    for (const [name, value] of Object.entries(m.properties)) {
      if (!propertyName.test(name))
        throw invalid(`messages[${i}].properties: ${JSON.stringify(name)} is not a name`);
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw invalid(`messages[${i}].properties.${name} must be a string, number or boolean`);
      }
    }
  }
}

function validateQueue(queue: string): void {
  if (!/^[A-Za-z0-9._/-]{1,255}$/.test(queue))
    throw invalid(`queue ${JSON.stringify(queue)} is not a valid name`);
}

/** Reference sink: validates, then waits for the broker to store each message. */
class MemorySink implements ContractQueueSink {
  readonly capabilities = {};
  readonly broker: MemoryBroker;
  readonly queue: string;
  #closed = false;

  constructor(broker: MemoryBroker, queue: string) {
    this.broker = broker;
    this.queue = queue;
  }

  async send(messages: readonly ContractQueueMessage[]): Promise<void> {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'sink is closed');
    validateQueue(this.queue);
    validate(messages);
    for (const m of messages) await this.broker.accept(this.queue, m);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/** Reference reader: takes messages off the queue; close puts unacknowledged ones back in front. */
class MemoryReader implements ContractQueueReader {
  readonly #queue: Stored[];
  #inFlight: Stored[] = [];
  #closed = false;

  constructor(queue: Stored[]) {
    this.#queue = queue;
  }

  async receive(max: number, timeoutMs: number): Promise<ContractReceivedQueueMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const taken = this.#queue.splice(0, max);
    this.#inFlight.push(...taken);
    return taken.map((s) => {
      s.deliveries += 1;
      return { ...structuredClone(s.message), redelivered: s.deliveries > 1 };
    });
  }

  async ack(): Promise<void> {
    this.#inFlight = [];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.unshift(...this.#inFlight);
    this.#inFlight = [];
  }
}

type Bug =
  | 'none'
  | 'resolves-early'
  | 'drops-properties'
  | 'acks-on-receive'
  | 'no-name-check'
  | 'rewrites-ids';

/** The reference sink with one injected bug. */
class BrokenSink extends MemorySink {
  readonly #bug: Bug;
  readonly #pending: Promise<void>[] = [];

  constructor(broker: MemoryBroker, queue: string, bug: Bug) {
    super(broker, queue);
    this.#bug = bug;
  }

  override async send(messages: readonly ContractQueueMessage[]): Promise<void> {
    if (this.#bug === 'resolves-early') {
      // Fire and forget: resolves before the broker's verdict (the first awaits happen later).
      validate(messages);
      const p = (async () => {
        for (const m of messages) await this.broker.accept(this.queue, m);
      })();
      p.catch(() => {});
      this.#pending.push(p);
      return;
    }
    if (this.#bug === 'no-name-check' && !this.queue) return;
    if (this.#bug === 'drops-properties') {
      validate(messages);
      return super.send(messages.map((m) => ({ ...m, properties: {} })));
    }
    if (this.#bug === 'rewrites-ids') {
      return super.send(messages.map((m) => ({ ...m, messageId: `${m.messageId}#${Math.random()}` })));
    }
    return super.send(messages);
  }

  override async close(): Promise<void> {
    // Like a client dropping its connection: what the broker had not stored yet is lost.
    if (this.#bug === 'resolves-early') this.broker.refusing.add(this.queue);
    await super.close();
  }
}

class AutoAckReader extends MemoryReader {
  override async receive(max: number, timeoutMs: number): Promise<ContractReceivedQueueMessage[]> {
    const got = await super.receive(max, timeoutMs);
    await this.ack();
    return got;
  }
}

let queues = 0;

function factory(bug: Bug): () => Promise<QueueSinkFixture> {
  return async () => {
    const broker = new MemoryBroker();
    queues += 1;
    const queue = `contract.q${queues}`;
    const sinkFor = async (name: string) =>
      bug === 'none' || bug === 'acks-on-receive'
        ? new MemorySink(broker, name)
        : new BrokenSink(broker, name, bug);
    return {
      impl: await sinkFor(queue),
      queue,
      sinkFor,
      reader: async () =>
        bug === 'acks-on-receive'
          ? new AutoAckReader(broker.queue(queue))
          : new MemoryReader(broker.queue(queue)),
      refusingSink: async () => {
        broker.refusing.add(`${queue}.refusing`);
        return sinkFor(`${queue}.refusing`);
      },
      waitMs: 1_000,
      async cleanup() {},
    };
  };
}

function failedNames(report: ContractReport): string[] {
  return report.failed.map((f) => f.name).sort();
}

const caseNames = queueSinkContract.cases.map((c) => c.name);

function named(fragment: string): string {
  const found = caseNames.find((n) => n.includes(fragment));
  assert.ok(found, `no case named like ${fragment}`);
  return found;
}

describe('queue-sink contract', () => {
  it('passes the in-memory reference transport', async () => {
    const report = await checkContract(queueSinkContract, factory('none'));
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.skipped, []);
    assert.equal(report.passed.length, caseNames.length);
  });

  it('catches a send that resolves before the broker accepted', async () => {
    const report = await checkContract(queueSinkContract, factory('resolves-early'));
    const failed = failedNames(report);
    assert.ok(failed.includes(named('broker refuses')), failed.join('\n'));
    assert.ok(failed.includes(named('closed right away')), failed.join('\n'));
  });

  it('catches a transport that drops properties', async () => {
    const report = await checkContract(queueSinkContract, factory('drops-properties'));
    assert.deepEqual(
      failedNames(report),
      [named('id, body and properties'), named('not acknowledged')].sort(),
    );
  });

  it('catches a reader that acknowledges on receive (no redelivery)', async () => {
    const report = await checkContract(queueSinkContract, factory('acks-on-receive'));
    assert.deepEqual(failedNames(report), [named('not acknowledged')]);
  });

  it('catches a transport that does not check queue names', async () => {
    const report = await checkContract(queueSinkContract, factory('no-name-check'));
    assert.deepEqual(failedNames(report), [named('invalid queue name')]);
  });

  it('catches a transport that rewrites message ids', async () => {
    const report = await checkContract(queueSinkContract, factory('rewrites-ids'));
    const failed = failedNames(report);
    assert.ok(failed.includes(named('sent twice')), failed.join('\n'));
    assert.ok(failed.includes(named('id, body and properties')), failed.join('\n'));
  });
});
