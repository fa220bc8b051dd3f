/**
 * A consumer group: its committed offsets (the next offset to read, per partition) and
 * its live members. Whenever a member joins or leaves, every partition of every topic is
 * re-assigned among the members subscribed to that topic: partition `p` of a topic goes to
 * the `p mod n`-th of its `n` subscribers, in join order. Committed offsets outlive the
 * members, so a new consumer of the group resumes where the last one committed.
 */
import type { MemoryTopic } from '../topic/memory-topic.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface GroupMember {
  /** Topics this member reads. */
  readonly topics: readonly MemoryTopic[];
  /** Replace the member's partitions (it keeps its position in those it already held). */
  assign(partitions: readonly TopicPartition[]): void;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class ConsumerGroup {
  readonly id: string;
  readonly #committed = new Map<string, number>();
  readonly #members: GroupMember[] = [];

  constructor(id: string) {
    this.id = id;
  }

  committed(topic: string, partition: number): number | undefined {
    return this.#committed.get(key(topic, partition));
  }

  commit(topic: string, partition: number, offset: number): void {
    this.#committed.set(key(topic, partition), offset);
  }

  join(member: GroupMember): void {
    this.#members.push(member);
    this.#rebalance();
  }

  leave(member: GroupMember): void {
    const index = this.#members.indexOf(member);
    if (index === -1) return;
    this.#members.splice(index, 1);
    this.#rebalance();
  }

  #rebalance(): void {
    const assignments = new Map<GroupMember, TopicPartition[]>(this.#members.map((m) => [m, []]));
    const topics = new Map<string, MemoryTopic>();
    for (const m of this.#members) for (const t of m.topics) topics.set(t.name, t);
    for (const topic of topics.values()) {
      const subscribers = this.#members.filter((m) => m.topics.includes(topic));
      for (let partition = 0; partition < topic.partitionCount; partition++) {
        const owner = subscribers[partition % subscribers.length]!;
        assignments.get(owner)!.push({ topic: topic.name, partition });
      }
    }
    for (const [member, partitions] of assignments) member.assign(partitions);
  }
}
