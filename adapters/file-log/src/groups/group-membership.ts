/**
 * In-process group membership: the consumers of one group in this process share the
 * partitions of their topics. Every join or leave re-balances with Kafka's range
 * assignor (per topic, members in join order get contiguous runs of partitions).
 */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface GroupMember {
  /** Subscribed topic → its partition count. */
  readonly subscriptions: ReadonlyMap<string, number>;
  /** The member's new assignment; it keeps positions for partitions it already had. */
  assign(partitions: readonly TopicPartition[]): void;
}

export class GroupMembership {
  readonly #members: GroupMember[] = [];

  get size(): number {
    return this.#members.length;
  }

  join(member: GroupMember): void {
    if (!this.#members.includes(member)) this.#members.push(member);
    this.#rebalance();
  }

  leave(member: GroupMember): void {
    const i = this.#members.indexOf(member);
    if (i < 0) return;
    this.#members.splice(i, 1);
    this.#rebalance();
  }

  #rebalance(): void {
    const assignments = new Map<GroupMember, TopicPartition[]>(this.#members.map((m) => [m, []]));
    const topics = [...new Set(this.#members.flatMap((m) => [...m.subscriptions.keys()]))].sort();
    for (const topic of topics) {
      const members = this.#members.filter((m) => m.subscriptions.has(topic));
      const partitions = members[0]!.subscriptions.get(topic)!;
      const each = Math.floor(partitions / members.length);
      const extra = partitions % members.length;
      for (const [i, member] of members.entries()) {
        const start = i * each + Math.min(i, extra);
        const count = each + (i < extra ? 1 : 0);
        for (let p = start; p < start + count; p++) assignments.get(member)!.push({ topic, partition: p });
      }
    }
    for (const [member, partitions] of assignments) member.assign(partitions);
  }
}
