/**
 * Contract suite of the LakeStore port (lakeFS semantics): staging vs commits, atomic
 * commits, immutable commit ids, branch isolation, merge, revert, diff, log, direct reads
 * and durability. Every LakeStore adapter runs it; cases needing a capability say so.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ErrorCode, VigilError } from '../errors.js';
import type { Commit, LakeStore } from '../ports/lake-store.js';
import { type Contract, type ContractFixture, skipCase } from './contract.js';

export interface LakeStoreFixture extends ContractFixture<LakeStore> {
  /**
   * Open a new instance over the same storage. The durability case closes `impl` first
   * and closes what this returns; `cleanup` must still remove the storage.
   */
  reopen?: () => Promise<LakeStore>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (value: string): Uint8Array => encoder.encode(value);

async function text(lake: LakeStore, ref: string, path: string): Promise<string | null> {
  const data = await lake.get(ref, path);
  return data === null ? null : decoder.decode(data);
}

async function paths(lake: LakeStore, ref: string, prefix?: string): Promise<string[]> {
  return (await lake.list(ref, prefix)).map((o) => o.path);
}

/** Stage `files` (path → content) on a branch, then commit them; returns the commit id. */
async function commitFiles(
  lake: LakeStore,
  branch: string,
  files: Record<string, string>,
  message = 'update',
): Promise<string> {
  for (const [path, content] of Object.entries(files)) await lake.put(branch, path, bytes(content));
  return (await lake.commit(branch, message)).id;
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, mentions?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof VigilError, `expected a VigilError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    if (mentions !== undefined)
      assert.ok(error.message.includes(mentions), `"${error.message}" should name '${mentions}'`);
    return true;
  });
}

const main = (lake: LakeStore): string => lake.defaultBranch;

/**
 * The default branch and `work` diverge from one commit. Conflicts: `dose.csv` changed
 * differently on both sides; `label.csv` changed on the default branch and deleted on
 * `work`. Each side also has changes of its own: `work` changes `a.csv` and adds
 * `w-new.csv`; the default branch changes `b.csv`, adds `m-new.csv`, deletes `drop.csv`.
 */
async function divergeWithConflicts(lake: LakeStore): Promise<{ work: string; into: string }> {
  await commitFiles(lake, main(lake), {
    'a.csv': 'a0',
    'b.csv': 'b0',
    'dose.csv': 'v0',
    'drop.csv': 'd0',
    'label.csv': 'l0',
  });
  await lake.createBranch('work', main(lake));
  await lake.put('work', 'dose.csv', bytes('v-work'));
  await lake.put('work', 'a.csv', bytes('a-work'));
  await lake.put('work', 'w-new.csv', bytes('w'));
  await lake.delete('work', 'label.csv');
  const work = (await lake.commit('work', 'work changes')).id;
  await lake.put(main(lake), 'dose.csv', bytes('v-main'));
  await lake.put(main(lake), 'label.csv', bytes('l-main'));
  await lake.put(main(lake), 'b.csv', bytes('b-main'));
  await lake.put(main(lake), 'm-new.csv', bytes('m'));
  await lake.delete(main(lake), 'drop.csv');
  const into = (await lake.commit(main(lake), 'main changes')).id;
  return { work, into };
}

/** What a merge with a strategy must leave on the default branch, besides the conflicting paths. */
async function assertBothSidesKept(lake: LakeStore, heads: { work: string; into: string }, merged: Commit) {
  assert.deepEqual(
    [...merged.parents].sort(),
    [heads.into, heads.work].sort(),
    'a merge commit of both heads',
  );
  assert.equal(await lake.resolve(main(lake)), merged.id, 'merge must move the target branch to its result');
  assert.equal(await text(lake, main(lake), 'a.csv'), 'a-work', "the source's own change was lost");
  assert.equal(await text(lake, main(lake), 'w-new.csv'), 'w', "the source's own addition was lost");
  assert.equal(await text(lake, main(lake), 'b.csv'), 'b-main', "the destination's own change was lost");
  assert.equal(await text(lake, main(lake), 'm-new.csv'), 'm', "the destination's own addition was lost");
  assert.equal(await lake.get(main(lake), 'drop.csv'), null, "the destination's own delete was lost");
  assert.equal(await lake.resolve('work'), heads.work, 'merge moved the source branch');
  assert.equal(await lake.get('work', 'm-new.csv'), null, 'merge changed the source branch');
}

export const lakeStoreContract: Contract<LakeStoreFixture> = {
  port: 'lake-store',
  cases: [
    {
      name: 'put returns size and checksum; get reads the bytes back; an absent path reads as null',
      async run({ impl: lake }) {
        const data = bytes('heart_rate,72\n');
        const info = await lake.put(main(lake), 'bronze/vitals.csv', data);
        assert.equal(info.path, 'bronze/vitals.csv');
        assert.equal(info.size, data.byteLength);
        assert.ok(info.checksum.length > 0, 'checksum is empty');
        assert.deepEqual(await lake.get(main(lake), 'bronze/vitals.csv'), data);
        assert.equal(await lake.get(main(lake), 'bronze/missing.csv'), null);
        const again = await lake.put(main(lake), 'bronze/vitals.csv', bytes('heart_rate,80\n'));
        assert.notEqual(again.checksum, info.checksum, 'different content must have a different checksum');
        assert.equal(await text(lake, main(lake), 'bronze/vitals.csv'), 'heart_rate,80\n');
      },
    },
    {
      name: 'list returns the objects under a prefix, sorted by path',
      async run({ impl: lake }) {
        for (const path of ['b/2', 'a/1', 'b/10', 'ab', 'b/1', 'c'])
          await lake.put(main(lake), path, bytes(path));
        assert.deepEqual(await paths(lake, main(lake), 'b/'), ['b/1', 'b/10', 'b/2']);
        assert.deepEqual(await paths(lake, main(lake), 'a'), ['a/1', 'ab']);
        assert.deepEqual(await paths(lake, main(lake), 'zzz'), []);
        const all = await lake.list(main(lake));
        assert.deepEqual(
          all.map((o) => o.path),
          ['a/1', 'ab', 'b/1', 'b/10', 'b/2', 'c'],
        );
        assert.deepEqual(
          all.map((o) => o.size),
          [3, 2, 3, 4, 3, 1],
        );
      },
    },
    {
      name: 'concurrent puts on one branch are all staged',
      async run({ impl: lake }) {
        const names = Array.from({ length: 24 }, (_, i) => `concurrent/${String(i).padStart(2, '0')}`);
        await Promise.all(names.map((name) => lake.put(main(lake), name, bytes(name))));
        assert.deepEqual(await paths(lake, main(lake), 'concurrent/'), names);
      },
    },
    {
      name: 'delete removes the object from the branch; deleting an absent path is a no-op',
      async run({ impl: lake }) {
        await lake.put(main(lake), 'x.txt', bytes('x'));
        await lake.put(main(lake), 'y.txt', bytes('y'));
        await lake.delete(main(lake), 'x.txt');
        assert.equal(await lake.get(main(lake), 'x.txt'), null, 'a deleted path still reads');
        assert.deepEqual(await paths(lake, main(lake)), ['y.txt'], 'a deleted path is still listed');
        await lake.delete(main(lake), 'never-existed.txt');
        assert.deepEqual(await paths(lake, main(lake)), ['y.txt']);
        assert.equal(await text(lake, main(lake), 'y.txt'), 'y');
      },
    },
    {
      name: 'capability flags tell the truth: an operation without its capability is unsupported and names it',
      async run({ impl: lake }) {
        const flags = lake.capabilities as unknown as Record<string, unknown>;
        for (const flag of ['branching', 'merge', 'revert', 'directRead'])
          assert.equal(typeof flags[flag], 'boolean', `capabilities.${flag} must be a boolean`);
        const head = lake.capabilities.branching ? undefined : await lake.resolve(main(lake));
        const probes: [keyof LakeStore['capabilities'], () => Promise<unknown>][] = [
          ['branching', () => lake.createBranch('work', main(lake))],
          ['merge', () => lake.merge('work', main(lake))],
          ['revert', () => lake.revert(main(lake), head ?? main(lake))],
          [
            'directRead',
            () => lake.put(main(lake), 'r.txt', bytes('r')).then(() => lake.locate(main(lake), 'r.txt')),
          ],
        ];
        for (const [flag, probe] of probes) {
          if (lake.capabilities[flag]) continue;
          await rejectsWith(probe(), 'VIGIL_LAKE_UNSUPPORTED', flag);
        }
        if (!lake.capabilities.branching) {
          assert.deepEqual(
            (await lake.listBranches()).map((b) => b.name),
            [main(lake)],
            'a store without branching has only its default branch',
          );
        }
      },
    },
    {
      name: 'a staged put is visible on the branch but not at its last commit id',
      requires: ['branching'],
      async run({ impl: lake }) {
        const c1 = await commitFiles(lake, main(lake), { 'a.txt': 'one' });
        await lake.put(main(lake), 'a.txt', bytes('two'));
        await lake.put(main(lake), 'new.txt', bytes('new'));
        assert.equal(await text(lake, main(lake), 'a.txt'), 'two', 'the branch sees its staged write');
        assert.equal(await text(lake, c1, 'a.txt'), 'one', 'a staged write leaked into the commit');
        assert.equal(await lake.get(c1, 'new.txt'), null, 'a staged write leaked into the commit');
        assert.deepEqual(await paths(lake, c1), ['a.txt']);
        assert.equal(await lake.resolve(main(lake)), c1, 'staging must not move the branch head');
      },
    },
    {
      name: 'commit makes all staged paths visible at once at the new id; the old commit keeps its content',
      requires: ['branching'],
      async run({ impl: lake }) {
        const c1 = await commitFiles(lake, main(lake), { 'keep.txt': 'k', 'a.txt': 'a1', 'gone.txt': 'g' });
        await lake.put(main(lake), 'a.txt', bytes('a2'));
        await lake.put(main(lake), 'b.txt', bytes('b2'));
        await lake.put(main(lake), 'c/d.txt', bytes('d2'));
        await lake.delete(main(lake), 'gone.txt');
        const commit = await lake.commit(main(lake), 'second', { metadata: { job: 'ingest' } });
        assert.deepEqual(commit.parents, [c1], 'one commit with the previous head as its only parent');
        assert.equal(commit.message, 'second');
        assert.deepEqual(commit.metadata, { job: 'ingest' });
        assert.ok(!Number.isNaN(Date.parse(commit.committedAt)), 'committedAt is ISO-8601');
        assert.equal(await lake.resolve(main(lake)), commit.id);
        assert.deepEqual(await paths(lake, commit.id), ['a.txt', 'b.txt', 'c/d.txt', 'keep.txt']);
        assert.equal(await text(lake, commit.id, 'a.txt'), 'a2');
        assert.equal(await text(lake, commit.id, 'c/d.txt'), 'd2');
        assert.deepEqual(await paths(lake, c1), ['a.txt', 'gone.txt', 'keep.txt'], 'the old commit changed');
        assert.equal(await text(lake, c1, 'a.txt'), 'a1', 'the old commit changed');
        const log = await lake.log(main(lake), { limit: 2 });
        assert.deepEqual(
          log.map((c) => c.id),
          [commit.id, c1],
          'the staged paths must become exactly one commit',
        );
      },
    },
    {
      name: 'delete is staged on the branch, then committed; deleting an absent path is a no-op',
      requires: ['branching'],
      async run({ impl: lake }) {
        const c1 = await commitFiles(lake, main(lake), { 'x.txt': 'x', 'y.txt': 'y' });
        await lake.delete(main(lake), 'x.txt');
        assert.equal(await lake.get(main(lake), 'x.txt'), null);
        assert.deepEqual(await paths(lake, main(lake)), ['y.txt']);
        assert.equal(await text(lake, c1, 'x.txt'), 'x', 'a staged delete leaked into the commit');
        const c2 = (await lake.commit(main(lake), 'delete x')).id;
        assert.equal(await lake.get(c2, 'x.txt'), null);
        assert.equal(await text(lake, c1, 'x.txt'), 'x');
        await lake.delete(main(lake), 'never-existed.txt');
        await rejectsWith(lake.commit(main(lake), 'nothing'), 'VIGIL_LAKE_NO_CHANGES');
      },
    },
    {
      name: 'branches are isolated from each other',
      requires: ['branching'],
      async run({ impl: lake }) {
        const c1 = await commitFiles(lake, main(lake), { 'shared.txt': 's' });
        await lake.createBranch('work', main(lake));
        assert.equal(await lake.resolve('work'), c1, 'a new branch starts at the commit it was created from');
        assert.equal(await text(lake, 'work', 'shared.txt'), 's');
        await lake.put('work', 'w.txt', bytes('w'));
        await lake.put(main(lake), 'm.txt', bytes('m'));
        assert.equal(await lake.get(main(lake), 'w.txt'), null, 'staged on work, visible on main');
        assert.equal(await lake.get('work', 'm.txt'), null, 'staged on main, visible on work');
        const w1 = (await lake.commit('work', 'work')).id;
        assert.equal(await lake.get(main(lake), 'w.txt'), null, 'committed on work, visible on main');
        assert.equal(await lake.resolve(main(lake)), c1);
        assert.equal(await text(lake, w1, 'w.txt'), 'w');
        assert.equal(await text(lake, main(lake), 'm.txt'), 'm', 'commit on work dropped main staging');
        const branches = await lake.listBranches();
        assert.deepEqual(branches.map((b) => b.name).sort(), [main(lake), 'work'].sort());
        assert.equal(branches.find((b) => b.name === 'work')?.commitId, w1);
      },
    },
    {
      name: 'createBranch on an existing branch is a conflict; from an unknown ref is not found',
      requires: ['branching'],
      async run({ impl: lake }) {
        await lake.createBranch('dup', main(lake));
        await rejectsWith(lake.createBranch('dup', main(lake)), 'VIGIL_LAKE_CONFLICT', 'dup');
        await rejectsWith(lake.createBranch(main(lake), 'dup'), 'VIGIL_LAKE_CONFLICT');
        await rejectsWith(lake.createBranch('other', 'no-such-ref'), 'VIGIL_LAKE_NOT_FOUND', 'no-such-ref');
      },
    },
    {
      name: 'resolve of an unknown ref is not found and names the ref; commit ids resolve to themselves',
      async run({ impl: lake }) {
        await rejectsWith(lake.resolve('no-such-branch'), 'VIGIL_LAKE_NOT_FOUND', 'no-such-branch');
        await rejectsWith(
          lake.resolve('0123456789abcdef0123'),
          'VIGIL_LAKE_NOT_FOUND',
          '0123456789abcdef0123',
        );
        await rejectsWith(lake.get('no-such-branch', 'a'), 'VIGIL_LAKE_NOT_FOUND');
        const id = await commitFiles(lake, main(lake), { a: 'a' });
        assert.equal(await lake.resolve(id), id);
      },
    },
    {
      name: 'commit with nothing staged fails with no-changes unless allowEmpty',
      async run({ impl: lake }) {
        const head = await lake.resolve(main(lake));
        await rejectsWith(lake.commit(main(lake), 'empty'), 'VIGIL_LAKE_NO_CHANGES');
        assert.equal(await lake.resolve(main(lake)), head, 'a failed commit moved the branch');
        const empty = await lake.commit(main(lake), 'marker', { allowEmpty: true, metadata: { k: 'v' } });
        assert.deepEqual(empty.parents, [head]);
        assert.deepEqual(empty.metadata, { k: 'v' });
        assert.equal(await lake.resolve(main(lake)), empty.id);
        assert.deepEqual(await lake.diff(head, empty.id), []);
      },
    },
    {
      name: 'log lists commits newest first following parents, and honours limit',
      async run({ impl: lake }) {
        const ids: string[] = [];
        for (const n of ['one', 'two', 'three']) ids.push(await commitFiles(lake, main(lake), { [n]: n }, n));
        const log = await lake.log(main(lake));
        assert.deepEqual(
          log.slice(0, 3).map((c) => c.message),
          ['three', 'two', 'one'],
        );
        assert.deepEqual(
          log.slice(0, 3).map((c) => c.id),
          [...ids].reverse(),
        );
        assert.equal(new Set(log.map((c) => c.id)).size, log.length, 'log repeats a commit');
        for (let i = 1; i < log.length; i++)
          assert.ok(log[i - 1]!.committedAt >= log[i]!.committedAt, 'log is not newest first');
        assert.deepEqual(
          (await lake.log(main(lake), { limit: 2 })).map((c) => c.message),
          ['three', 'two'],
        );
        assert.deepEqual(
          (await lake.log(ids[0]!)).slice(0, 1).map((c) => c.message),
          ['one'],
          'log of a commit id starts at that commit',
        );
      },
    },
    {
      name: 'diff lists added, removed and changed paths, sorted by path',
      async run({ impl: lake }) {
        const from = await commitFiles(lake, main(lake), {
          'same.txt': 's',
          'changed.txt': '1',
          'removed.txt': 'r',
        });
        await lake.put(main(lake), 'changed.txt', bytes('2'));
        await lake.put(main(lake), 'added.txt', bytes('a'));
        await lake.put(main(lake), 'same.txt', bytes('s'));
        await lake.delete(main(lake), 'removed.txt');
        const to = (await lake.commit(main(lake), 'changes')).id;
        assert.deepEqual(await lake.diff(from, to), [
          { path: 'added.txt', type: 'added' },
          { path: 'changed.txt', type: 'changed' },
          { path: 'removed.txt', type: 'removed' },
        ]);
        assert.deepEqual(await lake.diff(to, from), [
          { path: 'added.txt', type: 'removed' },
          { path: 'changed.txt', type: 'changed' },
          { path: 'removed.txt', type: 'added' },
        ]);
        assert.deepEqual(await lake.diff(to, to), []);
      },
    },
    {
      name: 'merge into a branch that has not moved brings the source commits (fast-forward or merge commit)',
      requires: ['merge'],
      async run({ impl: lake }) {
        await commitFiles(lake, main(lake), { 'base.txt': 'b' });
        await lake.createBranch('work', main(lake));
        const w1 = await commitFiles(lake, 'work', { 'feature.txt': 'f' });
        const merged = await lake.merge('work', main(lake));
        assert.equal(
          await lake.resolve(main(lake)),
          merged.id,
          'merge must move the target branch to its result',
        );
        assert.ok(
          merged.id === w1 || merged.parents.includes(w1),
          'the merge result must contain the source head',
        );
        assert.equal(await text(lake, main(lake), 'feature.txt'), 'f');
        assert.equal(await text(lake, main(lake), 'base.txt'), 'b');
        assert.equal(await lake.resolve('work'), w1, 'merge moved the source branch');
      },
    },
    {
      name: 'merge of diverged branches combines disjoint changes in a commit with both heads as parents',
      requires: ['merge'],
      async run({ impl: lake }) {
        await commitFiles(lake, main(lake), {
          'a.txt': 'a0',
          'b.txt': 'b0',
          'same.txt': 's0',
          'drop.txt': 'd',
        });
        await lake.createBranch('work', main(lake));
        await lake.put('work', 'a.txt', bytes('a-work'));
        await lake.put('work', 'same.txt', bytes('s1'));
        await lake.delete('work', 'drop.txt');
        const w = (await lake.commit('work', 'work changes')).id;
        await lake.put(main(lake), 'b.txt', bytes('b-main'));
        await lake.put(main(lake), 'same.txt', bytes('s1'));
        await lake.put(main(lake), 'c.txt', bytes('c-main'));
        const m = (await lake.commit(main(lake), 'main changes')).id;
        const merged = await lake.merge('work', main(lake), { message: 'merge work' });
        assert.deepEqual([...merged.parents].sort(), [m, w].sort());
        assert.equal(merged.message, 'merge work');
        assert.equal(await lake.resolve(main(lake)), merged.id);
        assert.equal(await text(lake, main(lake), 'a.txt'), 'a-work');
        assert.equal(await text(lake, main(lake), 'b.txt'), 'b-main');
        assert.equal(await text(lake, main(lake), 'c.txt'), 'c-main');
        assert.equal(await text(lake, main(lake), 'same.txt'), 's1');
        assert.equal(await lake.get(main(lake), 'drop.txt'), null, 'a delete on the source side was lost');
        assert.equal(await lake.get('work', 'c.txt'), null, 'merge changed the source branch');
      },
    },
    {
      name: 'merge of a path changed differently on both sides is a conflict naming the path; into is untouched',
      requires: ['merge'],
      async run({ impl: lake }) {
        const { into } = await divergeWithConflicts(lake);
        await rejectsWith(lake.merge('work', main(lake)), 'VIGIL_LAKE_CONFLICT', 'dose.csv');
        await rejectsWith(
          lake.merge('work', main(lake), { message: 'no strategy', strategy: undefined }),
          'VIGIL_LAKE_CONFLICT',
          'dose.csv',
        );
        assert.equal(await lake.resolve(main(lake)), into, 'a conflicting merge moved the target branch');
        assert.equal(await text(lake, main(lake), 'dose.csv'), 'v-main');
        assert.equal(await text(lake, main(lake), 'label.csv'), 'l-main');
        assert.equal(
          await text(lake, main(lake), 'a.csv'),
          'a0',
          'a conflicting merge applied part of the source',
        );
        assert.equal(
          await lake.get(main(lake), 'w-new.csv'),
          null,
          'a conflicting merge applied part of the source',
        );
      },
    },
    {
      name: "merge with strategy source-wins takes the source's side of each conflicting path, deletes included, and keeps both sides' other changes",
      requires: ['merge'],
      async run({ impl: lake }) {
        const heads = await divergeWithConflicts(lake);
        const merged = await lake.merge('work', main(lake), { message: 'rerun', strategy: 'source-wins' });
        assert.equal(merged.message, 'rerun');
        assert.equal(await text(lake, main(lake), 'dose.csv'), 'v-work', 'the source must win the conflict');
        assert.equal(
          await lake.get(main(lake), 'label.csv'),
          null,
          "the source's delete must win the conflict",
        );
        await assertBothSidesKept(lake, heads, merged);
        assert.deepEqual(await paths(lake, main(lake)), [
          'a.csv',
          'b.csv',
          'dose.csv',
          'm-new.csv',
          'w-new.csv',
        ]);
      },
    },
    {
      name: "merge with strategy dest-wins keeps the destination's side of each conflicting path and both sides' other changes",
      requires: ['merge'],
      async run({ impl: lake }) {
        const heads = await divergeWithConflicts(lake);
        const merged = await lake.merge('work', main(lake), { strategy: 'dest-wins' });
        assert.equal(
          await text(lake, main(lake), 'dose.csv'),
          'v-main',
          'the destination must win the conflict',
        );
        assert.equal(
          await text(lake, main(lake), 'label.csv'),
          'l-main',
          'the destination must win the conflict',
        );
        await assertBothSidesKept(lake, heads, merged);
        assert.deepEqual(await paths(lake, main(lake)), [
          'a.csv',
          'b.csv',
          'dose.csv',
          'label.csv',
          'm-new.csv',
          'w-new.csv',
        ]);
      },
    },
    {
      name: 'revert adds a commit undoing a commit; a path changed since is a conflict',
      requires: ['revert'],
      async run({ impl: lake }) {
        await commitFiles(lake, main(lake), { 'a.txt': 'a1', 'keep.txt': 'k' });
        const bad = await commitFiles(lake, main(lake), { 'a.txt': 'a2', 'b.txt': 'b2' }, 'bad');
        const later = await commitFiles(lake, main(lake), { 'c.txt': 'c3' }, 'later');
        const revert = await lake.revert(main(lake), bad);
        assert.deepEqual(revert.parents, [later]);
        assert.equal(await lake.resolve(main(lake)), revert.id);
        assert.equal(await text(lake, main(lake), 'a.txt'), 'a1');
        assert.equal(await lake.get(main(lake), 'b.txt'), null);
        assert.equal(await text(lake, main(lake), 'c.txt'), 'c3', 'revert undid a later commit');
        assert.equal(await text(lake, bad, 'a.txt'), 'a2', 'revert rewrote history');
        const setC = await commitFiles(lake, main(lake), { 'c.txt': 'c4' });
        const head = await commitFiles(lake, main(lake), { 'c.txt': 'c5' });
        await rejectsWith(lake.revert(main(lake), setC), 'VIGIL_LAKE_CONFLICT', 'c.txt');
        assert.equal(await lake.resolve(main(lake)), head);
      },
    },
    {
      name: 'deleteBranch drops the branch and its staging, is idempotent, and protects the default branch',
      requires: ['branching'],
      async run({ impl: lake }) {
        await lake.createBranch('tmp', main(lake));
        await lake.put('tmp', 'staged.txt', bytes('s'));
        await lake.deleteBranch('tmp');
        await rejectsWith(lake.resolve('tmp'), 'VIGIL_LAKE_NOT_FOUND', 'tmp');
        await lake.deleteBranch('tmp');
        assert.ok(!(await lake.listBranches()).some((b) => b.name === 'tmp'));
        await lake.createBranch('tmp', main(lake));
        assert.equal(await lake.get('tmp', 'staged.txt'), null, 'a recreated branch shows the old staging');
        const head = await lake.resolve(main(lake));
        await assert.rejects(lake.deleteBranch(main(lake)), VigilError);
        assert.equal(await lake.resolve(main(lake)), head);
      },
    },
    {
      name: 'locate gives a location that reads the same bytes; an absent path is not found',
      requires: ['directRead'],
      async run({ impl: lake }) {
        const data = bytes('patient_ref,value\np1,1\n');
        await lake.put(main(lake), 'silver/labs.csv', data);
        const id = (await lake.commit(main(lake), 'labs', { allowEmpty: true })).id;
        const location = await lake.locate(id, 'silver/labs.csv');
        assert.equal(typeof location, 'string');
        if (location.startsWith('file:') || isAbsolute(location)) {
          const file = location.startsWith('file:') ? fileURLToPath(location) : location;
          assert.deepEqual(new Uint8Array(await readFile(file)), data);
        } else {
          assert.match(location, /^[a-z][a-z0-9+.-]*:\/\//, 'location is neither a local path nor a URL');
        }
        await rejectsWith(lake.locate(id, 'silver/absent.csv'), 'VIGIL_LAKE_NOT_FOUND');
      },
    },
    {
      name: 'committed data and writes since the last commit are still there after the store is reopened',
      async run(fixture) {
        if (!fixture.reopen) skipCase('the fixture provides no reopen() (no durable state)');
        const lake = fixture.impl;
        const c1 = await commitFiles(lake, main(lake), { 'durable.txt': 'd' }, 'durable');
        await lake.put(main(lake), 'since.txt', bytes('s'));
        const log = (await lake.log(main(lake))).map((c) => c.id);
        await lake.close();
        const again = await fixture.reopen();
        try {
          assert.equal(await again.resolve(main(lake)), c1, 'the head commit was lost');
          assert.deepEqual(
            (await again.log(main(lake))).map((c) => c.id),
            log,
            'the log changed across reopen',
          );
          assert.equal((await again.log(c1, { limit: 1 }))[0]?.message, 'durable');
          assert.equal(await text(again, c1, 'durable.txt'), 'd');
          assert.equal(
            await text(again, main(lake), 'since.txt'),
            's',
            'a write since the last commit was lost',
          );
          const c2 = await again.commit(main(lake), 'after reopen');
          assert.deepEqual(c2.parents, [c1], 'a commit after reopen must follow the head');
          assert.equal(await text(again, c2.id, 'since.txt'), 's');
          assert.equal(await text(again, c2.id, 'durable.txt'), 'd');
        } finally {
          await again.close();
        }
      },
    },
    {
      name: 'committed and staged data survive closing and reopening the store',
      requires: ['branching'],
      async run(fixture) {
        if (!fixture.reopen) skipCase('the fixture provides no reopen() (no durable state)');
        const lake = fixture.impl;
        const c1 = await commitFiles(lake, main(lake), { 'durable.txt': 'd' });
        await lake.createBranch('work', main(lake));
        await lake.put('work', 'staged.txt', bytes('s'));
        const log = (await lake.log(main(lake))).map((c) => c.id);
        await lake.close();
        const again = await fixture.reopen();
        try {
          assert.equal(await again.resolve(main(lake)), c1);
          assert.equal(await text(again, c1, 'durable.txt'), 'd');
          assert.equal(await text(again, 'work', 'staged.txt'), 's');
          assert.deepEqual(
            (await again.log(main(lake))).map((c) => c.id),
            log,
          );
          const c2 = (await again.commit('work', 'after reopen')).id;
          assert.equal(await text(again, c2, 'staged.txt'), 's');
        } finally {
          await again.close();
        }
      },
    },
  ],
};
