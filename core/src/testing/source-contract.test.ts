/**
 * The Source contract must catch broken sources. Core cannot depend on an adapter, so
 * this test carries a small in-memory reference Source (correct, and shown to pass every
 * case) and wraps it with one injected bug at a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { VigilError } from '../errors.js';
import type {
  Consumer,
  ConsumerOptions,
  ProduceRecord,
  Source,
  SourceRecord,
  TopicInfo,
  TopicPartitionOffset,
} from '../ports/source.js';
import { defaultSourceCapabilities } from '../ports/source.js';
import { withBrokenConsumer } from './broken-consumer.js';
import type { ContractReport } from './contract.js';
import { checkContract } from './contract.js';
import type { SourceFixture } from './source-contract.js';
import { sourceContract } from './source-contract.js';

interface Stored {
  key: string | null;
  value: Uint8Array;
  headers: Record<string, string>;
  timestamp: number;
}

/** Storage shared by a source and its reopened successor. */
interface MemoryState {
  topics: Map<string, Stored[][]>;
  commits: Map<string, Map<string, number>>;
}

function closedError(): VigilError {
  return new VigilError('VIGIL_SOURCE_CONSUMER_CLOSED', 'consumer is closed');
}

/** Reference Source: everything in memory, one process, range assignment per topic. */
class MemorySource implements Source {
  readonly capabilities = defaultSourceCapabilities;
  readonly #state: MemoryState;
  readonly #members = new Map<string, MemoryConsumer[]>();
  readonly #waiters = new Set<() => void>();
  #roundRobin = 0;
  #closed = false;

  constructor(state: MemoryState) {
    this.#state = state;
  }

  topic(name: string): Stored[][] {
    const partitions = this.#state.topics.get(name);
    if (!partitions) throw new VigilError('VIGIL_SOURCE_UNKNOWN_TOPIC', `topic ${name} does not exist`);
    return partitions;
  }

  commits(group: string): Map<string, number> {
    let map = this.#state.commits.get(group);
    if (!map) {
      map = new Map();
      this.#state.commits.set(group, map);
    }
    return map;
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  async ensureTopic(topic: string, options: { partitions?: number } = {}): Promise<void> {
    if (!this.#state.topics.has(topic)) {
      this.#state.topics.set(
        topic,
        Array.from({ length: options.partitions ?? 1 }, () => []),
      );
    }
  }

  async describeTopic(topic: string): Promise<TopicInfo> {
    const partitions = this.topic(topic);
    return { topic, partitions: partitions.length, endOffsets: partitions.map((p) => String(p.length)) };
  }

  async produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]> {
    for (const r of records) {
      const partitions = this.topic(r.topic);
      if (r.partition !== undefined && !(r.partition >= 0 && r.partition < partitions.length)) {
        throw new VigilError('VIGIL_SOURCE_INVALID_REQUEST', `partition ${r.partition} out of range`);
      }
    }
    const out = records.map((r) => {
      const partitions = this.topic(r.topic);
      const key = r.key ?? null;
      let partition = r.partition;
      if (partition === undefined) {
        partition =
          key === null
            ? this.#roundRobin++ % partitions.length
            : [...Buffer.from(key)].reduce((h, b) => (h * 31 + b) >>> 0, 7) % partitions.length;
      }
      const log = partitions[partition]!;
      log.push({
        key,
        value: typeof r.value === 'string' ? new Uint8Array(Buffer.from(r.value)) : new Uint8Array(r.value),
        headers: { ...(r.headers ?? {}) },
        timestamp: r.timestamp ?? Date.now(),
      });
      return { topic: r.topic, partition, offset: String(log.length - 1) };
    });
    this.notify();
    return out;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    for (const t of options.topics) this.topic(t);
    const consumer = new MemoryConsumer(this, options);
    const members = this.#members.get(options.group) ?? [];
    members.push(consumer);
    this.#members.set(options.group, members);
    this.rebalance(options.group);
    return consumer;
  }

  leave(consumer: MemoryConsumer, group: string): void {
    const members = (this.#members.get(group) ?? []).filter((m) => m !== consumer);
    this.#members.set(group, members);
    this.rebalance(group);
  }

  rebalance(group: string): void {
    const members = this.#members.get(group) ?? [];
    const plan = new Map<MemoryConsumer, string[]>(members.map((m) => [m, []]));
    const topics = [...new Set(members.flatMap((m) => m.topics))];
    for (const topic of topics) {
      const subscribed = members.filter((m) => m.topics.includes(topic));
      const count = this.topic(topic).length;
      for (let p = 0; p < count; p++) plan.get(subscribed[p % subscribed.length]!)!.push(`${topic}/${p}`);
    }
    for (const [member, keys] of plan) member.assign(keys);
    this.notify();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const members of [...this.#members.values()]) for (const m of [...members]) await m.close();
  }
}

class MemoryConsumer implements Consumer {
  readonly topics: string[];
  readonly #source: MemorySource;
  readonly #group: string;
  readonly #start: 'earliest' | 'latest';
  #positions = new Map<string, number>();
  #closed = false;

  constructor(source: MemorySource, options: ConsumerOptions) {
    this.#source = source;
    this.topics = options.topics;
    this.#group = options.group;
    this.#start = options.start ?? 'earliest';
  }

  assign(keys: string[]): void {
    const next = new Map<string, number>();
    for (const key of keys) {
      const [topic, p] = key.split('/') as [string, string];
      const committed = this.#source.commits(this.#group).get(key);
      const end = this.#source.topic(topic)[Number(p)]!.length;
      next.set(key, this.#positions.get(key) ?? committed ?? (this.#start === 'latest' ? end : 0));
    }
    this.#positions = next;
  }

  async poll(options: { maxRecords?: number; timeoutMs?: number } = {}): Promise<SourceRecord[]> {
    if (this.#closed) throw closedError();
    const max = options.maxRecords ?? 500;
    const deadline = Date.now() + (options.timeoutMs ?? 1000);
    for (;;) {
      const out: SourceRecord[] = [];
      for (const [key, position] of this.#positions) {
        const [topic, p] = key.split('/') as [string, string];
        const log = this.#source.topic(topic)[Number(p)]!;
        let at = position;
        while (at < log.length && out.length < max) {
          out.push({ topic, partition: Number(p), offset: String(at), ...log[at]! });
          at++;
        }
        this.#positions.set(key, at);
      }
      const remaining = deadline - Date.now();
      if (out.length > 0 || remaining <= 0 || this.#closed) return out;
      await this.#source.wait(remaining);
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (this.#closed) throw closedError();
    for (const o of offsets)
      this.#source.commits(this.#group).set(`${o.topic}/${o.partition}`, Number(o.offset));
  }

  async committed(): Promise<TopicPartitionOffset[]> {
    if (this.#closed) throw closedError();
    const commits = this.#source.commits(this.#group);
    return [...this.#positions.keys()]
      .filter((key) => commits.has(key))
      .map((key) => {
        const [topic, p] = key.split('/') as [string, string];
        return { topic, partition: Number(p), offset: String(commits.get(key)) };
      });
  }

  async seek(position: TopicPartitionOffset): Promise<void> {
    if (this.#closed) throw closedError();
    this.#positions.set(`${position.topic}/${position.partition}`, Number(position.offset));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.leave(this, this.#group);
  }
}

type Breakage = (source: Source) => Source;

/** Wrap a source's consumers with a change to one consumer method. */
function breakConsumers(change: (consumer: Consumer) => Partial<Consumer>): Breakage {
  return (source) => withBrokenConsumer(source, change);
}

function fixtureFactory(breakage: Breakage = (s) => s): () => Promise<SourceFixture> {
  return async () => {
    const state: MemoryState = { topics: new Map(), commits: new Map() };
    const impl = breakage(new MemorySource(state));
    return {
      impl,
      reopen: async () => breakage(new MemorySource(state)),
      cleanup: () => impl.close(),
    };
  };
}

function failedNames(report: ContractReport): string[] {
  return report.failed.map((f) => f.name);
}

const caseNames = sourceContract.cases.map((c) => c.name);
function caseNamed(start: string): string {
  const name = caseNames.find((n) => n.startsWith(start));
  assert.ok(name, `no case starting with '${start}'`);
  return name;
}

describe('source contract', () => {
  it('has the cases the port needs', () => {
    assert.ok(caseNames.length >= 15);
    assert.equal(new Set(caseNames).size, caseNames.length, 'case names are unique');
  });

  it('passes a correct in-memory source', async () => {
    const report = await checkContract(sourceContract, fixtureFactory());
    assert.deepEqual(
      report.failed.map((f) => `${f.name}: ${String(f.error)}`),
      [],
    );
    assert.equal(report.passed.length, caseNames.length);
  });

  it('fails a source whose commit is a no-op', async () => {
    const report = await checkContract(
      sourceContract,
      fixtureFactory(
        breakConsumers((c) => ({
          commit: async () => {
            await c.committed(); // still refuses work after close
          },
        })),
      ),
    );
    assert.deepEqual(failedNames(report).sort(), [
      caseNamed('commit takes the next offset'),
      caseNamed('records and committed offsets survive'),
    ]);
    assert.equal(report.passed.length, caseNames.length - 2);
  });

  it('fails a source that reorders records within a poll', async () => {
    // Only the cases that fail fast: the others would wait out their drain deadlines.
    const names = [
      caseNamed('produce returns positions in input order'),
      caseNamed('commit takes the next offset'),
    ];
    const report = await checkContract(
      { ...sourceContract, cases: sourceContract.cases.filter((c) => names.includes(c.name)) },
      fixtureFactory(breakConsumers((c) => ({ poll: async (o) => (await c.poll(o)).reverse() }))),
    );
    assert.deepEqual(failedNames(report), names);
  });

  it('fails a source that delivers from the committed offset minus one (off-by-one commit)', async () => {
    const report = await checkContract(
      sourceContract,
      fixtureFactory(
        breakConsumers((c) => ({
          commit: (offsets) =>
            c.commit(offsets.map((o) => ({ ...o, offset: String(Math.max(0, Number(o.offset) - 1)) }))),
        })),
      ),
    );
    assert.ok(failedNames(report).includes(caseNamed('commit takes the next offset')));
  });

  it('fails a source whose poll ignores timeoutMs', async () => {
    const report = await checkContract(
      sourceContract,
      fixtureFactory(breakConsumers((c) => ({ poll: (o) => c.poll({ ...o, timeoutMs: 0 }) }))),
    );
    assert.ok(failedNames(report).includes(caseNamed('poll returns empty after its timeout')));
  });

  it('fails a source that ignores keys when picking partitions', async () => {
    let calls = 0;
    const report = await checkContract(
      sourceContract,
      fixtureFactory((source) => ({
        capabilities: source.capabilities,
        ensureTopic: (t, o) => source.ensureTopic(t, o),
        describeTopic: (t) => source.describeTopic(t),
        produce: (records) => {
          calls += 1;
          return source.produce(records.map((r, i) => (r.key ? { ...r, partition: (calls + i) % 4 } : r)));
        },
        consumer: (o) => source.consumer(o),
        close: () => source.close(),
      })),
    );
    assert.ok(failedNames(report).includes(caseNamed('the same key always lands')));
  });

  it('fails a source whose consumers do not refuse use after close', async () => {
    const report = await checkContract(
      sourceContract,
      fixtureFactory(
        breakConsumers((c) => ({
          poll: async (o) => {
            try {
              return await c.poll(o);
            } catch {
              return [];
            }
          },
        })),
      ),
    );
    assert.ok(failedNames(report).includes(caseNamed('close is idempotent')));
    assert.ok(failedNames(report).includes(caseNamed('closing the source closes its consumers')));
  });

  it('skips the durability case without reopen and capability cases without the flag', async () => {
    const report = await checkContract(sourceContract, async () => {
      const state: MemoryState = { topics: new Map(), commits: new Map() };
      const source = new MemorySource(state);
      const impl: Source = Object.assign(Object.create(source) as Source, {
        capabilities: { ...defaultSourceCapabilities, replay: false },
        ensureTopic: source.ensureTopic.bind(source),
        describeTopic: source.describeTopic.bind(source),
        produce: source.produce.bind(source),
        consumer: source.consumer.bind(source),
        close: source.close.bind(source),
      });
      return { impl, cleanup: () => source.close() };
    });
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.skipped, [
      caseNamed('seek moves the position'),
      caseNamed('records and committed offsets survive'),
    ]);
  });
});

/** A read-only view of a memory source: produce and topic creation fail, like a file import. */
function readOnly(source: MemorySource): Source {
  const refuse = (topic: string) =>
    new VigilError('VIGIL_SOURCE_READ_ONLY', `topic ${topic}: the source is read-only`);
  return {
    capabilities: { ...defaultSourceCapabilities, produce: false },
    async ensureTopic(topic) {
      await source.describeTopic(topic).catch(() => {
        throw refuse(topic);
      });
    },
    describeTopic: (t) => source.describeTopic(t),
    async produce(records) {
      for (const r of records) await source.describeTopic(r.topic);
      throw refuse(records[0]?.topic ?? '');
    },
    consumer: (o) => source.consumer(o),
    close: () => source.close(),
  };
}

function readOnlyFixture(breakage: Breakage = (s) => s): () => Promise<SourceFixture> {
  return async () => {
    const state: MemoryState = { topics: new Map(), commits: new Map() };
    const writer = new MemorySource(state);
    const partitions = [
      [
        { key: 'site-01', value: '{"n":0}' },
        { key: null, value: '{"n":1}' },
      ],
      [],
      [{ key: 'site-02', value: '{"n":2}' }],
    ];
    await writer.ensureTopic('prepared', { partitions: 3 });
    await writer.produce(
      partitions.flatMap((list, partition) => list.map((r) => ({ topic: 'prepared', partition, ...r }))),
    );
    const impl = breakage(readOnly(new MemorySource(state)));
    return { impl, prepared: { topic: 'prepared', partitions }, cleanup: () => impl.close() };
  };
}

describe('source contract on a read-only source (produce: false)', () => {
  const readCases = [
    caseNamed('a prepared topic is described'),
    caseNamed('an unknown topic fails'),
    caseNamed('close is idempotent'),
    caseNamed('closing the source closes its consumers'),
  ];

  it('runs the cases that need no produce against the prepared topic and skips the rest', async () => {
    const report = await checkContract(sourceContract, readOnlyFixture());
    assert.deepEqual(
      report.failed.map((f) => `${f.name}: ${String(f.error)}`),
      [],
    );
    assert.deepEqual([...report.passed].sort(), [...readCases].sort());
    assert.equal(report.skipped.length, caseNames.length - readCases.length);
  });

  it('the prepared-topic case is also run by sources that produce', () => {
    const c = sourceContract.cases.find((x) => x.name === readCases[0]);
    assert.deepEqual(c?.requires ?? [], []);
  });

  it('fails a read-only source whose produce pretends to succeed', async () => {
    const report = await checkContract(
      sourceContract,
      readOnlyFixture((source) => ({
        ...source,
        capabilities: source.capabilities,
        produce: async () => [],
      })),
    );
    assert.deepEqual(failedNames(report).sort(), [
      caseNamed('a prepared topic is described'),
      caseNamed('an unknown topic fails'),
    ]);
  });

  it('fails a read-only source that delivers a partition out of order', async () => {
    const report = await checkContract(
      sourceContract,
      readOnlyFixture(breakConsumers((c) => ({ poll: async (o) => (await c.poll(o)).reverse() }))),
    );
    assert.deepEqual(failedNames(report), [caseNamed('a prepared topic is described')]);
  });
});
