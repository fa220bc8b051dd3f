import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { GroupMember, TopicPartition } from './group-membership.js';
import { GroupMembership } from './group-membership.js';

function member(subscriptions: Record<string, number>): GroupMember & { got: string[] } {
  const m = {
    subscriptions: new Map(Object.entries(subscriptions)),
    got: [] as string[],
    assign(partitions: readonly TopicPartition[]) {
      m.got = partitions.map((p) => `${p.topic}-${p.partition}`);
    },
  };
  return m;
}

describe('GroupMembership (range assignment)', () => {
  it('splits each topic into contiguous runs, the first members taking the remainder', () => {
    const g = new GroupMembership();
    const a = member({ t: 5, u: 2 });
    const b = member({ t: 5, u: 2 });
    g.join(a);
    assert.deepEqual(a.got, ['t-0', 't-1', 't-2', 't-3', 't-4', 'u-0', 'u-1']);
    g.join(b);
    assert.deepEqual(a.got, ['t-0', 't-1', 't-2', 'u-0']);
    assert.deepEqual(b.got, ['t-3', 't-4', 'u-1']);
    g.leave(a);
    assert.deepEqual(b.got, ['t-0', 't-1', 't-2', 't-3', 't-4', 'u-0', 'u-1']);
  });

  it('gives a topic only to members subscribed to it; extra members may get nothing', () => {
    const g = new GroupMembership();
    const a = member({ t: 1 });
    const b = member({ t: 1, v: 2 });
    g.join(a);
    g.join(b);
    assert.deepEqual(a.got, ['t-0']);
    assert.deepEqual(b.got, ['v-0', 'v-1']);
  });
});
