import type { ICustomPartitioner, PartitionMetadata } from 'kafkajs';

/**
 * Picks partitions the way Kafka's default partitioner does: a keyed record goes to
 * `toPositive(murmur2(key)) % partitions` (kafkajs' DefaultPartitioner, the same hash the
 * Java client and the embedded file log use), unkeyed records round-robin per topic.
 * Choosing here, not inside kafkajs, lets produce() report each record's partition.
 */
export class PartitionChooser {
  readonly #keyed: ReturnType<ICustomPartitioner>;
  readonly #metadata = new Map<number, PartitionMetadata[]>();
  readonly #next = new Map<string, number>();

  constructor(createPartitioner: ICustomPartitioner) {
    this.#keyed = createPartitioner();
  }

  #partitionMetadata(partitions: number): PartitionMetadata[] {
    let list = this.#metadata.get(partitions);
    if (!list) {
      list = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionErrorCode: 0,
        partitionId,
        leader: 0,
        replicas: [0],
        isr: [0],
        offlineReplicas: [],
      }));
      this.#metadata.set(partitions, list);
    }
    return list;
  }

  choose(topic: string, key: string | null, partitions: number): number {
    if (key === null) {
      const next = this.#next.get(topic) ?? 0;
      this.#next.set(topic, (next + 1) % partitions);
      return next % partitions;
    }
    return this.#keyed({
      topic,
      partitionMetadata: this.#partitionMetadata(partitions),
      message: { key, value: null },
    });
  }
}
