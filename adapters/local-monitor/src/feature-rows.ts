import { createHash } from 'node:crypto';
import { type FeatureRow, isFeatureRow } from '@vigil/core';

/** Rows per block of a feature set's store. */
const BLOCK_ROWS = 1024;

/**
 * One list of feature names (a model's inputs) and the feature values of every indexed
 * prediction that has them, packed in Float64 blocks: a prediction holds a `FeatureRow`
 * into a block, not an object with a number per feature (which costs the heap a box per
 * value and every collection a walk over them).
 */
export class FeatureSet {
  readonly names: readonly string[];
  /** Names the set in the journal: the first 16 hex digits of SHA-256 over the JSON names. */
  readonly key: string;
  readonly #index: Map<string, number>;
  #block: Float64Array;
  #used = 0;

  constructor(names: readonly string[]) {
    this.names = names;
    this.key = createHash('sha256').update(JSON.stringify(names)).digest('hex').slice(0, 16);
    this.#index = new Map(names.map((name, i) => [name, i]));
    this.#block = new Float64Array(BLOCK_ROWS * names.length);
  }

  /** Position of a feature in `names`; -1 when the set lacks it. */
  indexOf(name: string): number {
    return this.#index.get(name) ?? -1;
  }

  /** Copy one row (`get(i)` is feature `names[i]`, NaN when missing) into the store. */
  add(get: (i: number) => number): FeatureRow {
    const d = this.names.length;
    if (this.#used + d > this.#block.length) {
      this.#block = new Float64Array(BLOCK_ROWS * d);
      this.#used = 0;
    }
    const offset = this.#used;
    for (let i = 0; i < d; i++) this.#block[offset + i] = get(i);
    this.#used += d;
    return { names: this.names, values: this.#block, offset };
  }
}

/** Every feature set the monitor has seen, by names and by journal key. */
export class FeatureSets {
  readonly #byNames = new Map<string, FeatureSet>();
  readonly #byKey = new Map<string, FeatureSet>();
  /** The set of a names array already seen (servers emit the same array for every row). */
  readonly #byArray = new WeakMap<readonly string[], FeatureSet>();

  of(names: readonly string[]): FeatureSet {
    const seen = this.#byArray.get(names);
    if (seen !== undefined) return seen;
    const joined = JSON.stringify(names);
    let set = this.#byNames.get(joined);
    if (set === undefined) {
      set = new FeatureSet([...names]);
      this.#byNames.set(joined, set);
      this.#byKey.set(set.key, set);
    }
    this.#byArray.set(names, set);
    return set;
  }

  byKey(key: string): FeatureSet | undefined {
    return this.#byKey.get(key);
  }

  /** A record's features as a row of the store (copied: the caller's block is not kept). */
  row(features: Record<string, number | null> | FeatureRow): FeatureRow {
    if (isFeatureRow(features)) {
      const { values, offset } = features;
      return this.of(features.names).add((i) => values[offset + i]!);
    }
    const names = Object.keys(features);
    return this.of(names).add((i) => features[names[i]!] ?? Number.NaN);
  }
}

/** A feature row's values in a journal line: numbers, null where missing. */
export function journalValues(row: FeatureRow): (number | null)[] {
  const out = new Array<number | null>(row.names.length);
  for (let i = 0; i < out.length; i++) {
    const v = row.values[row.offset + i]!;
    out[i] = Number.isNaN(v) ? null : v;
  }
  return out;
}

/** Names arrays `isValidFeatureRow` passed (a server sends the same array with every row). */
const checkedNames = new WeakSet<readonly string[]>();

/**
 * A valid feature row: non-empty distinct names, an integer offset with the whole row inside
 * `values`, and every value finite or NaN (missing).
 */
export function isValidFeatureRow(value: unknown): value is FeatureRow {
  if (!isFeatureRow(value)) return false;
  const { names, values, offset } = value;
  if (!checkedNames.has(names)) {
    if (names.length === 0 || !names.every((n) => typeof n === 'string' && n.length > 0)) return false;
    if (new Set(names).size !== names.length) return false;
    checkedNames.add(names);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + names.length > values.length) return false;
  for (let i = offset; i < offset + names.length; i++) {
    const v = values[i]!;
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) return false;
  }
  return true;
}
