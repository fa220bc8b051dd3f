/**
 * Picks a partition for a record key. Keyed records hash with 32-bit FNV-1a over the key's
 * UTF-8 bytes, so the same key always lands on the same partition of a topic.
 *
 * This is NOT Kafka's partitioner (Kafka hashes with murmur2 and, for records without a
 * key, uses a "sticky" partitioner): the same key may land on a different partition
 * number here than on a Kafka topic with the same partition count. Records without a key
 * go round-robin over the partitions.
 */
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const encoder = new TextEncoder();

/** 32-bit FNV-1a of the bytes, as an unsigned integer. */
export function fnv1a(bytes: Uint8Array): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

export class KeyPartitioner {
  readonly #partitions: number;
  #next = 0;

  constructor(partitions: number) {
    this.#partitions = partitions;
  }

  partition(key: string | null): number {
    if (key === null) {
      const partition = this.#next;
      this.#next = (this.#next + 1) % this.#partitions;
      return partition;
    }
    return fnv1a(encoder.encode(key)) % this.#partitions;
  }
}
