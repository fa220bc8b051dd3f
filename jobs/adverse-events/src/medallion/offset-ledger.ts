import type { LakeStore } from '@vigil/core';
import { VigilError } from '@vigil/core';

/** Inclusive offset ranges already in bronze, per partition of one topic. */
type Ranges = [bigint, bigint][];

const ledgerPath = (topic: string) => `bronze/_offsets/${encodeURIComponent(topic)}.json`;

/**
 * Which (topic, partition, offset) triples bronze already holds, kept as merged ranges in
 * one small JSON object per topic next to the bronze files. Bronze writes consult it so
 * a re-delivered or overlapping batch adds no row twice.
 */
export class OffsetLedger {
  readonly #lake: LakeStore;
  readonly #branch: string;
  readonly #topics = new Map<string, Map<number, Ranges>>();
  readonly #dirty = new Set<string>();

  constructor(lake: LakeStore, branch: string) {
    this.#lake = lake;
    this.#branch = branch;
  }

  async #load(topic: string): Promise<Map<number, Ranges>> {
    const cached = this.#topics.get(topic);
    if (cached) return cached;
    const partitions = new Map<number, Ranges>();
    const bytes = await this.#lake.get(this.#branch, ledgerPath(topic));
    if (bytes !== null) {
      const doc = JSON.parse(new TextDecoder().decode(bytes)) as {
        partitions: Record<string, [string, string][]>;
      };
      for (const [partition, ranges] of Object.entries(doc.partitions)) {
        partitions.set(
          Number(partition),
          ranges.map(([a, b]) => [BigInt(a), BigInt(b)]),
        );
      }
    }
    this.#topics.set(topic, partitions);
    return partitions;
  }

  /** Load the ledgers of these topics, so `holds` can answer without waiting. */
  async preload(topics: Iterable<string>): Promise<void> {
    for (const topic of new Set(topics)) await this.#load(topic);
  }

  /** Whether bronze already holds the record; the topic's ledger must be loaded (`preload`). */
  holds(topic: string, partition: number, offset: bigint): boolean {
    const loaded = this.#topics.get(topic);
    if (!loaded) {
      throw new VigilError('VIGIL_DATA_INVALID_EVENT', `offset ledger of topic '${topic}' is not loaded`, {
        details: { topic },
      });
    }
    const ranges = loaded.get(partition) ?? [];
    const last = ranges[ranges.length - 1];
    if (last === undefined || offset > last[1]) return false; // the common case: new records
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = ranges[mid]!;
      if (offset < a) hi = mid - 1;
      else if (offset > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Record offsets as written (call `save` to stage the ledger). */
  async add(topic: string, partition: number, offsets: readonly bigint[]): Promise<void> {
    const partitions = await this.#load(topic);
    const all: Ranges = [
      ...(partitions.get(partition) ?? []),
      ...offsets.map((o): [bigint, bigint] => [o, o]),
    ];
    all.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const merged: Ranges = [];
    for (const [a, b] of all) {
      const last = merged[merged.length - 1];
      if (last && a <= last[1] + 1n) {
        if (b > last[1]) last[1] = b;
      } else merged.push([a, b]);
    }
    partitions.set(partition, merged);
    this.#dirty.add(topic);
  }

  /** Stage every changed ledger on the branch. */
  async save(): Promise<void> {
    for (const topic of this.#dirty) {
      const partitions = this.#topics.get(topic);
      if (!partitions) continue;
      const doc = {
        topic,
        partitions: Object.fromEntries(
          [...partitions]
            .sort((a, b) => a[0] - b[0])
            .map(([p, ranges]) => [String(p), ranges.map(([a, b]) => [String(a), String(b)])]),
        ),
      };
      await this.#lake.put(this.#branch, ledgerPath(topic), new TextEncoder().encode(JSON.stringify(doc)));
    }
    this.#dirty.clear();
  }
}

/** Parse a record offset (Kafka offsets are decimal strings). */
export function parseOffset(offset: string | number | bigint, field: string): bigint {
  try {
    const value = BigInt(offset);
    if (value >= 0n) return value;
  } catch {
    // reported below
  }
  throw new VigilError(
    'VIGIL_DATA_INVALID_EVENT',
    `${field} must be a non-negative integer offset, got '${String(offset)}'`,
    {
      details: { field },
    },
  );
}
