import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isVigilError } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localLake } from './local-lake.js';
import type { LocalLakeStore } from './local-lake-store.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));

describe('LocalLakeStore', () => {
  let ctx: TestContext;
  let lake: LocalLakeStore;

  beforeEach(async () => {
    ctx = await createTestContext();
    lake = (await localLake.create(localLake.config.parse({}), ctx)) as LocalLakeStore;
  });
  afterEach(async () => {
    await lake.close();
    await ctx.cleanup();
  });

  it('keeps the lake under the workdir with the configured defaults', () => {
    expect(lake.root.startsWith(ctx.workdir)).toBe(true);
    expect(lake.defaultBranch).toBe('main');
    expect(localLake.config.parse({})).toEqual({ dir: 'lake', defaultBranch: 'main' });
  });

  it('rejects bad config naming the field', () => {
    const result = localLake.config.safeParse({ defaultBranch: '../x' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['defaultBranch']);
    expect(localLake.config.safeParse({ dir: 'lake', extra: 1 }).success).toBe(false);
  });

  it('stores identical content once and reports sha256 checksums', async () => {
    const a = await lake.put('main', 'a.txt', bytes('same'));
    const b = await lake.put('main', 'b.txt', bytes('same'));
    expect(a.checksum).toBe(b.checksum);
    expect(a.checksum).toBe('0967115f2813a3541eaef77de9d9d5773f1c0c04314b0bbfe4ff3b3b1c55b5d5');
    expect(await lake.locate('main', 'a.txt')).toBe(await lake.locate('main', 'b.txt'));
    expect(await readFile(await lake.locate('main', 'a.txt'), 'utf8')).toBe('same');
  });

  it('resolves unique commit id prefixes of at least 8 characters', async () => {
    await lake.put('main', 'a.txt', bytes('1'));
    const commit = await lake.commit('main', 'one');
    expect(await lake.resolve(commit.id.slice(0, 8))).toBe(commit.id);
    expect(await lake.resolve(commit.id)).toBe(commit.id);
    await expect(lake.resolve(commit.id.slice(0, 7))).rejects.toMatchObject({ code: 'VIGIL_LAKE_NOT_FOUND' });
  });

  it('validates branch names and paths, naming the field', async () => {
    for (const bad of ['../etc', '/abs', 'a..b', 'sp ace', '', 'x/', 'a//b']) {
      const error = await lake.createBranch(bad, 'main').catch((e: unknown) => e);
      expect(isVigilError(error, 'VIGIL_LAKE_INVALID_REQUEST'), bad).toBe(true);
      expect((error as Error).message).toMatch(/^name /);
    }
    await lake.createBranch('feature/x-1.2_b', 'main');
    await expect(lake.put('main', '/abs', bytes('x'))).rejects.toThrow(/path '\/abs' must be relative/);
    await expect(lake.put('nope', 'a', bytes('x'))).rejects.toThrow(/branch 'nope' does not exist/);
  });

  it('puts on a commit id are refused: only branches take writes', async () => {
    const head = await lake.resolve('main');
    await expect(lake.put(head, 'a', bytes('x'))).rejects.toMatchObject({ code: 'VIGIL_LAKE_NOT_FOUND' });
  });

  it('commits staged deletes of objects added in the same staging', async () => {
    await lake.put('main', 'tmp.txt', bytes('t'));
    await lake.delete('main', 'tmp.txt');
    expect(await lake.get('main', 'tmp.txt')).toBeNull();
    await lake.put('main', 'keep.txt', bytes('k'));
    await lake.commit('main', 'c');
    expect((await lake.list('main')).map((o) => o.path)).toEqual(['keep.txt']);
  });

  it('refuses merge and revert on a branch with staged changes', async () => {
    await lake.createBranch('work', 'main');
    await lake.put('work', 'w.txt', bytes('w'));
    await lake.commit('work', 'w');
    await lake.put('main', 'dirty.txt', bytes('d'));
    await expect(lake.merge('work', 'main')).rejects.toMatchObject({ code: 'VIGIL_LAKE_CONFLICT' });
    const head = await lake.resolve('work');
    await lake.put('work', 'dirty.txt', bytes('d'));
    await expect(lake.revert('work', head)).rejects.toMatchObject({ code: 'VIGIL_LAKE_CONFLICT' });
  });

  it('a merge of an ancestor is a no-op returning the head', async () => {
    await lake.createBranch('old', 'main');
    await lake.put('main', 'a', bytes('a'));
    const head = await lake.commit('main', 'a');
    expect((await lake.merge('old', 'main')).id).toBe(head.id);
    expect(await lake.resolve('main')).toBe(head.id);
  });

  it('serialises concurrent commits and puts on one branch', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => lake.put('main', `p/${i}`, bytes(String(i)))));
    const results = await Promise.allSettled([lake.commit('main', 'x'), lake.commit('main', 'y')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 'rejected' && isVigilError(r.reason, 'VIGIL_LAKE_NO_CHANGES')),
    ).toHaveLength(1);
    expect(await lake.list('main', 'p/')).toHaveLength(20);
  });

  it('throws after close', async () => {
    await lake.close();
    await expect(lake.resolve('main')).rejects.toMatchObject({ code: 'VIGIL_KERNEL_CLOSED' });
    await lake.close();
  });

  it('commits thousands of objects without rewriting unchanged ones', async () => {
    for (let i = 0; i < 1000; i++)
      await lake.put('main', `many/${String(i).padStart(4, '0')}`, bytes(`v${i}`));
    const first = await lake.commit('main', 'many');
    await lake.put('main', 'many/0000', bytes('changed'));
    const second = await lake.commit('main', 'one changed');
    expect(await lake.diff(first.id, second.id)).toEqual([{ path: 'many/0000', type: 'changed' }]);
    expect(await lake.list(second.id, 'many/')).toHaveLength(1000);
    expect(text(await lake.get(first.id, 'many/0000'))).toBe('v0');
  });
  it('fast-forwards when into is an ancestor of the source (no merge commit)', async () => {
    await lake.createBranch('work', 'main');
    await lake.put('work', 'w', bytes('w'));
    const w1 = await lake.commit('work', 'w1');
    const merged = await lake.merge('work', 'main');
    expect(merged.id).toBe(w1.id);
    expect(await lake.resolve('main')).toBe(w1.id);
  });

  it('logs a merged history once per commit, newest first, and reverts a merge against its first parent', async () => {
    await lake.createBranch('work', 'main');
    await lake.put('work', 'w', bytes('w'));
    const w1 = await lake.commit('work', 'w1');
    await lake.put('main', 'm', bytes('m'));
    const m1 = await lake.commit('main', 'm1');
    const merge = await lake.merge('work', 'main');
    expect(merge.parents).toEqual([m1.id, w1.id]);
    const log = await lake.log('main');
    expect(log.map((c) => c.message)).toEqual([merge.message, 'm1', 'w1', 'Repository created']);
    const revert = await lake.revert('main', merge.id);
    expect(await lake.get(revert.id, 'w')).toBeNull();
    expect(text(await lake.get(revert.id, 'm'))).toBe('m');
    expect(revert.metadata).toEqual({ revertedCommit: merge.id });
  });

  it('records a merge strategy on the merge commit and refuses an unknown one, leaving main as it was', async () => {
    await lake.put('main', 'gold.parquet', bytes('v1'));
    const base = await lake.commit('main', 'gold v1');
    await lake.createBranch('rerun', base.id);
    await lake.put('rerun', 'gold.parquet', bytes('v3'));
    await lake.commit('rerun', 'gold v3');
    await lake.put('main', 'gold.parquet', bytes('v2'));
    const head = await lake.commit('main', 'gold v2');
    const unknown = lake.merge('rerun', 'main', { strategy: 'theirs' as 'source-wins' });
    await expect(unknown).rejects.toMatchObject({
      code: 'VIGIL_LAKE_INVALID_REQUEST',
      details: { field: 'strategy' },
    });
    expect(await lake.resolve('main')).toBe(head.id);
    const merged = await lake.merge('rerun', 'main', { strategy: 'source-wins' });
    expect(merged.metadata).toMatchObject({ mergeSource: 'rerun', mergeStrategy: 'source-wins' });
    expect(text(await lake.get('main', 'gold.parquet'))).toBe('v3');
  });

  it("two instances over one lake see each other's staging and commits", async () => {
    const other = (await localLake.create(localLake.config.parse({}), ctx)) as LocalLakeStore;
    try {
      await lake.put('main', 'a', bytes('1'));
      expect(text(await other.get('main', 'a'))).toBe('1');
      await other.put('main', 'b', bytes('2'));
      expect((await lake.list('main')).map((o) => o.path)).toEqual(['a', 'b']);
      const commit = await other.commit('main', 'both');
      expect(await lake.list('main')).toHaveLength(2);
      expect(await lake.resolve('main')).toBe(commit.id);
      await lake.put('main', 'c', bytes('3'));
      expect((await other.list('main')).map((o) => o.path)).toEqual(['a', 'b', 'c']);
    } finally {
      await other.close();
    }
  });

  it('ignores a torn last staging line (a writer killed mid-append) and keeps staging after it', async () => {
    await lake.put('main', 'a', bytes('1'));
    await appendFile(join(lake.root, 'staging', 'main.jsonl'), '{"path":"torn","ha');
    expect((await lake.list('main')).map((o) => o.path)).toEqual(['a']);
    await lake.put('main', 'b', bytes('2'));
    expect((await lake.list('main')).map((o) => o.path)).toEqual(['a', 'b']);
    const commit = await lake.commit('main', 'after torn line');
    expect((await lake.list(commit.id)).map((o) => o.path)).toEqual(['a', 'b']);
  });

  it('reopens an existing lake without a new initial commit and lists branches', async () => {
    await lake.createBranch('feature/x', 'main');
    const again = (await localLake.create(localLake.config.parse({}), ctx)) as LocalLakeStore;
    try {
      expect(await again.log('main')).toHaveLength(1);
      expect((await again.listBranches()).map((b) => b.name)).toEqual(['feature/x', 'main']);
    } finally {
      await again.close();
    }
  });
});
