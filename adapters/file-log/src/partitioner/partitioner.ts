import { murmur2, toPositive } from './murmur2.js';

/**
 * Picks a record's partition as Kafka's producer would for a keyed record
 * (`toPositive(murmur2(utf8 key)) % partitions`); records without a key go round-robin.
 * An explicit partition is handled (and range-checked) by the caller.
 */
export class Partitioner {
  readonly partitions: number;
  #next = 0;

  constructor(partitions: number) {
    this.partitions = partitions;
  }

  /** Partition of a keyed record. */
  static forKey(key: string, partitions: number): number {
    return toPositive(murmur2(Buffer.from(key, 'utf8'))) % partitions;
  }

  partition(key: string | null): number {
    if (key !== null) return Partitioner.forKey(key, this.partitions);
    const p = this.#next;
    this.#next = (this.#next + 1) % this.partitions;
    return p;
  }
}
