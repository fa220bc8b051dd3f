import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entityKey } from './entity-key.js';
import { OnlineStore } from './online-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-online-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('online store', () => {
  it('keeps the newest value per key, skipping older and equal timestamps, also within a batch', async () => {
    const store = await OnlineStore.open(dir, ['v']);
    expect(
      await store.write('v', [
        { key: 'a', ts: 10, values: [1] },
        { key: 'a', ts: 5, values: [2] },
        { key: 'a', ts: 10, values: [3] },
        { key: 'b', ts: 1, values: [4] },
      ]),
    ).toBe(2);
    expect(store.get('v', 'a')).toEqual({ ts: 10, values: [1] });
    expect(await store.write('v', [{ key: 'a', ts: 11, values: [5] }])).toBe(1);
    expect(store.get('v', 'a')?.values).toEqual([5]);
    expect(store.get('v', 'zzz')).toBeUndefined();
    expect(store.get('other', 'a')).toBeUndefined();
  });

  it('replays its journal on reopen, survives a torn last line, and clear() forgets a view', async () => {
    const store = await OnlineStore.open(dir, ['v', 'w']);
    await store.write('v', [{ key: 'a', ts: 1, values: ['x', null, true] }]);
    await store.write('w', [{ key: 'a', ts: 1, values: [1] }]);
    await store.flush();
    await appendFile(join(dir, 'v.jsonl'), '["b",2,[');
    const reopened = await OnlineStore.open(dir, ['v', 'w']);
    expect(reopened.get('v', 'a')).toEqual({ ts: 1, values: ['x', null, true] });
    expect(reopened.get('v', 'b')).toBeUndefined();
    // The torn tail was rewritten, so a new append is readable after the next reopen.
    await reopened.write('v', [{ key: 'c', ts: 3, values: [null, null, null] }]);
    await reopened.clear('w');
    await reopened.flush();
    const third = await OnlineStore.open(dir, ['v', 'w']);
    expect(third.size('v')).toBe(2);
    expect(third.size('w')).toBe(0);
  });

  it('compacts a journal much longer than its map on open', async () => {
    const store = await OnlineStore.open(dir, ['v']);
    for (let i = 1; i <= 3000; i++) await store.write('v', [{ key: `k${i % 3}`, ts: i, values: [i] }]);
    await store.flush();
    await OnlineStore.open(dir, ['v']);
    const lines = (await readFile(join(dir, 'v.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    const again = await OnlineStore.open(dir, ['v']);
    expect(again.get('v', 'k0')).toEqual({ ts: 3000, values: [3000] });
  });
});

describe('entity key', () => {
  it('is the text of the values, so numbers and their strings meet, and keys of several parts do not collide', () => {
    expect(entityKey([1001])).toBe(entityKey(['1001']));
    expect(entityKey(['a', 'b'])).not.toBe(entityKey(['a,b']));
    expect(entityKey(['a|', 'b'])).not.toBe(entityKey(['a', '|b']));
    expect(entityKey([new Date(0)])).toBe('1970-01-01T00:00:00.000Z');
  });
});
