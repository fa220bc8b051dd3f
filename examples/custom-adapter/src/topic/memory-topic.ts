/**
 * A topic held in memory: one append-only array of records per partition. A record's
 * offset is its index in its partition; nothing is ever trimmed, so offsets stay dense
 * and `maxRecordsPerPartition` bounds the memory a topic can take.
 */
import { KeyPartitioner } from '../partitioner/key-partitioner.js';

export interface StoredRecord {
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

export class MemoryTopic {
  readonly name: string;
  readonly partitioner: KeyPartitioner;
  readonly #partitions: StoredRecord[][];

  constructor(name: string, partitions: number) {
    this.name = name;
    this.partitioner = new KeyPartitioner(partitions);
    this.#partitions = Array.from({ length: partitions }, () => []);
  }

  get partitionCount(): number {
    return this.#partitions.length;
  }

  /** Next offset to be written to the partition (its high-water mark). */
  endOffset(partition: number): number {
    return this.#partitions[partition]!.length;
  }

  endOffsets(): number[] {
    return this.#partitions.map((p) => p.length);
  }

  /** Append records to one partition; returns the offset of the first. */
  append(partition: number, records: readonly StoredRecord[]): number {
    const log = this.#partitions[partition]!;
    const first = log.length;
    for (const r of records) log.push(r);
    return first;
  }

  /** Up to `max` records from `offset` on (fewer at the end of the partition). */
  read(partition: number, offset: number, max: number): readonly StoredRecord[] {
    return this.#partitions[partition]!.slice(offset, offset + max);
  }
}
