import type { SourceRecord } from '@vigil/core';

interface Chunk {
  /** `topic/partition` of every record in the chunk. */
  key: string;
  records: SourceRecord[];
  /** Index of the next record to hand out. */
  next: number;
}

/**
 * Fetched records waiting for poll(), in arrival order (so in offset order within a
 * partition). Chunks are whole fetched batches; a partition's chunks can be dropped when
 * it is revoked or sought.
 */
export class RecordBuffer {
  #chunks: Chunk[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(key: string, records: SourceRecord[]): void {
    if (records.length === 0) return;
    this.#chunks.push({ key, records, next: 0 });
    this.#size += records.length;
  }

  /** Remove and return up to `max` records from the front. */
  take(max: number): SourceRecord[] {
    const out: SourceRecord[] = [];
    while (out.length < max && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const n = Math.min(max - out.length, chunk.records.length - chunk.next);
      for (let i = 0; i < n; i++) out.push(chunk.records[chunk.next + i]!);
      chunk.next += n;
      if (chunk.next === chunk.records.length) this.#chunks.shift();
    }
    this.#size -= out.length;
    return out;
  }

  /** Drop every buffered record of a partition. */
  drop(key: string): void {
    const kept: Chunk[] = [];
    for (const chunk of this.#chunks) {
      if (chunk.key === key) this.#size -= chunk.records.length - chunk.next;
      else kept.push(chunk);
    }
    this.#chunks = kept;
  }

  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }
}
