import type {
  Consumer,
  FeatureStore,
  Logger,
  ScalarValue,
  Source,
  SourceRecord,
  TopicPartitionOffset,
} from '@vigil/core';
import { type Catalog, DEFAULT_CATALOG } from '../medallion/catalog-config.js';
import type { WindowedView } from './feature-definitions.js';
import { WindowState } from './window-state.js';

/** A measurement taken from a raw event, normalised as silver would. */
export interface Measurement {
  entity: string;
  /** Epoch milliseconds of `observedAt`. */
  ts: number;
  measure: string;
  value: number;
}

const camel = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Read a raw vital/lab event (`{kind, patientId, measure, value, unit, observedAt}`) and
 * normalise its unit with the catalogue. Returns a reason string for what silver
 * would quarantine (bad JSON, unknown measure or unit, out of range, bad timestamp).
 */
export function parseMeasurement(
  payload: Uint8Array | string,
  joinKey: string,
  catalog: Catalog = DEFAULT_CATALOG,
): Measurement | string {
  let event: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(
      typeof payload === 'string' ? payload : new TextDecoder().decode(payload),
    );
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'invalid_json';
    event = parsed as Record<string, unknown>;
  } catch {
    return 'invalid_json';
  }
  const entity = event[camel(joinKey)] ?? event[joinKey];
  if (typeof entity !== 'string' || entity.length === 0) return 'missing_field';
  const measure = event.measure;
  if (typeof measure !== 'string' || !Object.hasOwn(catalog.measures, measure)) return 'unknown_measure';
  const spec = catalog.measures[measure]!;
  const unit = spec.units.find((u) => u.unit === event.unit);
  if (!unit) return 'unknown_unit';
  if (typeof event.value !== 'number' || !Number.isFinite(event.value)) return 'wrong_type';
  const value = event.value * unit.factor + unit.offset;
  if (value < spec.min || value > spec.max) return 'out_of_range';
  const ts = typeof event.observedAt === 'string' ? Date.parse(event.observedAt) : Number.NaN;
  if (!Number.isFinite(ts)) return 'wrong_type';
  return { entity, ts, measure, value };
}

export interface StreamingPushStats {
  consumed: number;
  /** Rows the store applied (newer than what it held). */
  pushed: number;
  /** Records that were not usable measurements, by reason. */
  skipped: Record<string, number>;
  /** Milliseconds from a record's produce timestamp to the end of its push, last batch. */
  lastLatencyMs: number | null;
  maxLatencyMs: number | null;
}

export interface StreamingPushOptions {
  source: Source;
  store: FeatureStore;
  windowed: readonly WindowedView[];
  /** Measures and units events are normalised with, as silver does (default: the built-in catalogue). */
  catalog?: Catalog;
  /** Consumer group of the push (its own, so bronze ingestion is unaffected). Default `vigil-feature-push`. */
  group?: string;
  /** Where a new group starts. Default 'latest' (only new events). */
  start?: 'earliest' | 'latest';
  /** Poll wait in ms. Default 100. */
  pollMs?: number;
  logger?: Logger;
}

/**
 * Streaming push: consumes the windowed views' input topics with its own consumer group,
 * keeps each entity's recent measurements, computes the view's window features at every
 * event from the same definition the batch SQL uses, and `push`es them to the online
 * store; offsets are committed after the push (at-least-once — a replayed row is not newer
 * than the stored one, so the store skips it).
 */
export class StreamingFeaturePush {
  readonly #options: StreamingPushOptions;
  readonly #states = new Map<string, WindowState>();
  readonly #stats: StreamingPushStats = {
    consumed: 0,
    pushed: 0,
    skipped: {},
    lastLatencyMs: null,
    maxLatencyMs: null,
  };
  #consumer: Consumer | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #error: unknown;

  constructor(options: StreamingPushOptions) {
    this.#options = options;
  }

  get stats(): Readonly<StreamingPushStats> {
    return { ...this.#stats, skipped: { ...this.#stats.skipped } };
  }

  /** Join the group and start consuming in the background. */
  async start(): Promise<void> {
    if (this.#consumer) return;
    const topics = [...new Set(this.#options.windowed.map((w) => w.input.topic))];
    for (const topic of topics) await this.#options.source.ensureTopic(topic);
    this.#consumer = await this.#options.source.consumer({
      group: this.#options.group ?? 'vigil-feature-push',
      topics,
      start: this.#options.start ?? 'latest',
    });
    this.#loop = this.#run(this.#consumer);
  }

  /** Stop after the current batch, leave the group; rethrows a failure of the loop. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    await this.#consumer?.close();
    if (this.#error) throw this.#error;
  }

  /** Process one batch of records now (also what the background loop does). Returns rows pushed. */
  async process(records: readonly SourceRecord[]): Promise<number> {
    const rows = new Map<string, Record<string, ScalarValue | Date>[]>();
    for (const record of records) {
      this.#stats.consumed++;
      // Parsed once per join key; a record that is not a usable measurement is counted once.
      const parsed = new Map<string, Measurement | string>();
      let skipped = false;
      for (const w of this.#options.windowed) {
        if (w.input.topic !== record.topic) continue;
        let m = parsed.get(w.joinKey);
        if (m === undefined) {
          m = parseMeasurement(record.value, w.joinKey, this.#options.catalog);
          parsed.set(w.joinKey, m);
        }
        if (typeof m === 'string') {
          if (!skipped) this.#stats.skipped[m] = (this.#stats.skipped[m] ?? 0) + 1;
          skipped = true;
          continue;
        }
        if (!w.features.some((f) => f.of === m.measure)) continue;
        const key = `${w.view.name}\u0000${m.entity}`;
        let state = this.#states.get(key);
        if (!state) {
          state = new WindowState(w.features);
          this.#states.set(key, state);
        }
        state.add(m.ts, m.measure, m.value);
        const values = state.valuesAt(m.ts);
        const row: Record<string, ScalarValue | Date> = {
          [w.joinKey]: m.entity,
          [w.view.source.timestampField]: new Date(m.ts),
        };
        w.features.forEach((f, i) => {
          row[f.name] = values[i]!;
        });
        let list = rows.get(w.view.name);
        if (!list) {
          list = [];
          rows.set(w.view.name, list);
        }
        list.push(row);
      }
    }
    let pushed = 0;
    for (const [view, list] of rows) pushed += (await this.#options.store.push(view, list)).rowsWritten;
    this.#stats.pushed += pushed;
    if (records.length > 0) {
      const now = Date.now();
      const latency = Math.max(...records.map((r) => now - r.timestamp));
      this.#stats.lastLatencyMs = latency;
      this.#stats.maxLatencyMs = Math.max(this.#stats.maxLatencyMs ?? 0, latency);
    }
    return pushed;
  }

  async #run(consumer: Consumer): Promise<void> {
    try {
      while (!this.#stopping) {
        const records = await consumer.poll({ maxRecords: 500, timeoutMs: this.#options.pollMs ?? 100 });
        if (records.length === 0) continue;
        await this.process(records);
        const next = new Map<string, TopicPartitionOffset>();
        for (const r of records) {
          next.set(`${r.topic}/${r.partition}`, {
            topic: r.topic,
            partition: r.partition,
            offset: String(BigInt(r.offset) + 1n),
          });
        }
        await consumer.commit([...next.values()]);
      }
    } catch (error) {
      this.#error = error;
      this.#options.logger?.error({ err: error }, 'streaming feature push stopped');
    }
  }
}
