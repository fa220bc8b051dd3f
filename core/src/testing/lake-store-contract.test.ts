import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VigilError } from '../errors.js';
import type {
  Commit,
  DiffEntry,
  LakeCapabilities,
  LakeStore,
  MergeOptions,
  ObjectInfo,
} from '../ports/lake-store.js';
import { checkContract } from './contract.js';
import { type LakeStoreFixture, lakeStoreContract } from './lake-store-contract.js';

type Tree = Map<string, Uint8Array>;
interface StoredCommit extends Commit {
  tree: Tree;
}
interface State {
  commits: Map<string, StoredCommit>;
  heads: Map<string, string>;
  staged: Map<string, Map<string, Uint8Array | null>>;
  clock: number;
}

const notFound = (what: string) => new VigilError('VIGIL_LAKE_NOT_FOUND', `${what} does not exist`);
const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a === b || (a !== undefined && b !== undefined && Buffer.compare(a, b) === 0);

/**
 * A small, correct in-memory LakeStore: the base the broken variants below wrap, so the
 * suite's own test can show that each bug fails exactly the case meant to catch it.
 * `directRead` is false (nothing to locate), so that case is skipped here; the local
 * lake adapter runs it.
 */
class MemoryLakeStore implements LakeStore {
  readonly capabilities: LakeCapabilities = { branching: true, merge: true, revert: true, directRead: false };
  readonly defaultBranch = 'main';
  readonly state: State;

  constructor(state?: State) {
    this.state = state ?? { commits: new Map(), heads: new Map(), staged: new Map(), clock: 0 };
    if (!state) this.heads.set('main', this.record([], new Map(), 'init', {}));
  }

  get heads() {
    return this.state.heads;
  }

  record(parents: string[], tree: Tree, message: string, metadata: Record<string, string>): string {
    const committedAt = new Date(Date.UTC(2025, 0, 1) + this.state.clock++ * 1000).toISOString();
    const id = createHash('sha256')
      .update(JSON.stringify([parents, [...tree.keys()], message, committedAt]))
      .digest('hex');
    this.state.commits.set(id, { id, parents, message, metadata, committedAt, tree });
    return id;
  }

  staging(branch: string): Map<string, Uint8Array | null> {
    if (!this.heads.has(branch)) throw notFound(`branch '${branch}'`);
    let staged = this.state.staged.get(branch);
    if (!staged) {
      staged = new Map();
      this.state.staged.set(branch, staged);
    }
    return staged;
  }

  view(ref: string): Tree {
    const tree = new Map(this.commitAt(ref).tree);
    for (const [path, data] of this.heads.has(ref) ? this.staging(ref) : []) {
      if (data) tree.set(path, data);
      else tree.delete(path);
    }
    return tree;
  }

  commitAt(ref: string): StoredCommit {
    const id =
      this.heads.get(ref) ?? [...this.state.commits.keys()].find((k) => ref.length >= 8 && k.startsWith(ref));
    const commit = id === undefined ? undefined : this.state.commits.get(id);
    if (!commit) throw notFound(`ref '${ref}'`);
    return commit;
  }

  ancestors(id: string): Set<string> {
    const seen = new Set([id]);
    for (const next of seen) for (const p of this.state.commits.get(next)!.parents) seen.add(p);
    return seen;
  }

  async put(branch: string, path: string, data: Uint8Array): Promise<ObjectInfo> {
    this.staging(branch).set(path, new Uint8Array(data));
    return { path, size: data.byteLength, checksum: createHash('sha256').update(data).digest('hex') };
  }
  async get(ref: string, path: string) {
    return this.view(ref).get(path) ?? null;
  }
  async list(ref: string, prefix = '') {
    return [...this.view(ref)]
      .filter(([path]) => path.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, data]) => ({
        path,
        size: data.byteLength,
        checksum: createHash('sha256').update(data).digest('hex'),
      }));
  }
  async delete(branch: string, path: string) {
    if (this.view(branch).has(path)) this.staging(branch).set(path, null);
  }
  async locate(): Promise<string> {
    throw new VigilError('VIGIL_LAKE_UNSUPPORTED', 'locate needs directRead');
  }
  async commit(
    branch: string,
    message: string,
    options: { metadata?: Record<string, string>; allowEmpty?: boolean } = {},
  ) {
    const staged = this.staging(branch);
    if (staged.size === 0 && !options.allowEmpty)
      throw new VigilError('VIGIL_LAKE_NO_CHANGES', 'nothing staged');
    const id = this.record([this.heads.get(branch)!], this.view(branch), message, options.metadata ?? {});
    this.heads.set(branch, id);
    staged.clear();
    return this.publicCommit(id);
  }
  publicCommit(id: string): Commit {
    const { tree: _tree, ...commit } = this.state.commits.get(id)!;
    return commit;
  }
  async createBranch(name: string, from: string) {
    if (this.heads.has(name)) throw new VigilError('VIGIL_LAKE_CONFLICT', `branch '${name}' exists`);
    this.heads.set(name, this.commitAt(from).id);
    this.state.staged.delete(name);
  }
  async deleteBranch(name: string) {
    if (name === 'main') throw new VigilError('VIGIL_LAKE_CONFLICT', 'default branch');
    this.heads.delete(name);
    this.state.staged.delete(name);
  }
  async listBranches() {
    return [...this.heads].map(([name, commitId]) => ({ name, commitId }));
  }
  async resolve(ref: string) {
    return this.commitAt(ref).id;
  }
  async merge(source: string, into: string, options: MergeOptions = {}): Promise<Commit> {
    const [s, i] = [this.commitAt(source).id, this.commitAt(into).id];
    if (this.staging(into).size > 0) throw new VigilError('VIGIL_LAKE_CONFLICT', 'dirty');
    if (this.ancestors(i).has(s)) return this.publicCommit(i);
    if (this.ancestors(s).has(i)) {
      this.heads.set(into, s);
      return this.publicCommit(s);
    }
    const ofInto = this.ancestors(i);
    const newest = (a: string, b: string) =>
      this.commitAt(a).committedAt < this.commitAt(b).committedAt ? 1 : -1;
    const base = [...this.ancestors(s)].filter((id) => ofInto.has(id)).sort(newest)[0]!;
    const [b, o, t] = [this.commitAt(base).tree, this.commitAt(i).tree, this.commitAt(s).tree];
    const id = this.record(
      [i, s],
      this.mergeTrees(b, o, t, options.strategy),
      options.message ?? 'merge',
      {},
    );
    this.heads.set(into, id);
    return this.publicCommit(id);
  }
  /** Three-way merge of `ours` (into) and `theirs` (source) from `base`; a strategy settles conflicts. */
  mergeTrees(b: Tree, o: Tree, t: Tree, strategy: MergeOptions['strategy']): Tree {
    const tree: Tree = new Map();
    for (const path of new Set([...b.keys(), ...o.keys(), ...t.keys()])) {
      const [bv, ov, tv] = [b.get(path), o.get(path), t.get(path)];
      const conflict = !(sameBytes(ov, tv) || sameBytes(bv, tv) || sameBytes(bv, ov));
      if (conflict && !strategy) throw new VigilError('VIGIL_LAKE_CONFLICT', `conflict on path '${path}'`);
      const pick = conflict ? (strategy === 'source-wins' ? tv : ov) : sameBytes(bv, ov) ? tv : ov;
      if (pick) tree.set(path, pick);
    }
    return tree;
  }
  async revert(branch: string, commitId: string) {
    const target = this.commitAt(commitId);
    const before = target.parents[0] ? this.commitAt(target.parents[0]).tree : new Map<string, Uint8Array>();
    const tree = new Map(this.commitAt(branch).tree);
    for (const { path } of diffTrees(before, target.tree)) {
      if (!sameBytes(tree.get(path), target.tree.get(path)))
        throw new VigilError('VIGIL_LAKE_CONFLICT', `path '${path}'`);
      const old = before.get(path);
      if (old) tree.set(path, old);
      else tree.delete(path);
    }
    const id = this.record([this.heads.get(branch)!], tree, `revert ${commitId}`, {});
    this.heads.set(branch, id);
    return this.publicCommit(id);
  }
  async diff(from: string, to: string) {
    return diffTrees(this.view(from), this.view(to));
  }
  async log(ref: string, options: { limit?: number } = {}) {
    const all = [...this.ancestors(this.commitAt(ref).id)].map((id) => this.publicCommit(id));
    return all.sort((a, b) => (a.committedAt < b.committedAt ? 1 : -1)).slice(0, options.limit);
  }
  async close() {}
}

function diffTrees(from: Tree, to: Tree): DiffEntry[] {
  const out: DiffEntry[] = [];
  for (const path of new Set([...from.keys(), ...to.keys()])) {
    const [a, b] = [from.get(path), to.get(path)];
    if (!a) out.push({ path, type: 'added' });
    else if (!b) out.push({ path, type: 'removed' });
    else if (!sameBytes(a, b)) out.push({ path, type: 'changed' });
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : 1));
}

/** Staged writes leak into the branch's last commit (reads of a commit id see staging). */
class LeakyStaging extends MemoryLakeStore {
  override view(ref: string): Tree {
    const tree = super.view(ref);
    for (const [branch, id] of this.heads) {
      if (id !== ref) continue;
      for (const [path, data] of this.staging(branch)) {
        if (data) tree.set(path, data);
        else tree.delete(path);
      }
    }
    return tree;
  }
}

/** Commit is not atomic: each staged path becomes its own commit. */
class PathByPathCommit extends MemoryLakeStore {
  override async commit(
    branch: string,
    message: string,
    options: { metadata?: Record<string, string> } = {},
  ) {
    const staged = [...this.staging(branch)];
    if (staged.length === 0) return super.commit(branch, message, options);
    let last: Commit | undefined;
    for (const [path, data] of staged) {
      this.staging(branch).clear();
      this.staging(branch).set(path, data);
      last = await super.commit(branch, message, options);
    }
    return last!;
  }
}

/** Merge silently overwrites conflicting paths with the source's version. */
class OverwritingMerge extends MemoryLakeStore {
  override async merge(source: string, into: string, options: MergeOptions = {}) {
    try {
      return await super.merge(source, into, options);
    } catch {
      for (const [path, data] of this.commitAt(source).tree) this.staging(into).set(path, data);
      return this.commit(into, options.message ?? 'merge', { allowEmpty: true });
    }
  }
}

/** Merge ignores its strategy: a conflict always throws. */
class IgnoredMergeStrategy extends MemoryLakeStore {
  override async merge(source: string, into: string, options: MergeOptions = {}) {
    return super.merge(source, into, { message: options.message });
  }
}

/** A merge strategy takes the winning side's whole tree, dropping the other side's own changes. */
class WholeTreeMergeStrategy extends MemoryLakeStore {
  override mergeTrees(b: Tree, o: Tree, t: Tree, strategy: MergeOptions['strategy']): Tree {
    if (strategy === undefined) return super.mergeTrees(b, o, t, strategy);
    return new Map(strategy === 'source-wins' ? t : o);
  }
}

/** Delete does nothing: the path stays readable and listed. */
class IgnoredDelete extends MemoryLakeStore {
  override async delete() {}
}

/** Capability flags lie: merge is declared absent but silently works. */
class UndeclaredMerge extends MemoryLakeStore {
  override readonly capabilities: LakeCapabilities = {
    branching: true,
    merge: false,
    revert: true,
    directRead: false,
  };
}

function factory(Store: typeof MemoryLakeStore) {
  return async (): Promise<LakeStoreFixture> => {
    const impl = new Store();
    return { impl, reopen: async () => new Store(impl.state), cleanup: async () => {} };
  };
}

const caseNames = lakeStoreContract.cases.map((c) => c.name);
const named = (fragment: string) => {
  const matches = caseNames.filter((name) => name.includes(fragment));
  expect(matches).toHaveLength(1);
  return matches[0]!;
};

describe('lakeStoreContract', () => {
  it('covers the LakeStore semantics with uniquely named cases', () => {
    expect(new Set(caseNames).size).toBe(caseNames.length);
    expect(caseNames.length).toBeGreaterThanOrEqual(20);
  });

  it('passes a correct in-memory store (locate skipped: no directRead)', async () => {
    const report = await checkContract(lakeStoreContract, factory(MemoryLakeStore));
    expect(report.failed.map((f) => `${f.name}: ${String(f.error)}`)).toEqual([]);
    expect(report.skipped).toEqual([named('locate gives')]);
  });

  it('fails a store whose staged writes leak into the last commit', async () => {
    const report = await checkContract(lakeStoreContract, factory(LeakyStaging));
    expect(report.failed.map((f) => f.name)).toEqual([
      named('staged put is visible on the branch but not at its last commit'),
      named('delete is staged'),
    ]);
    expect(report.skipped).toEqual([named('locate gives')]);
  });

  it('fails a store whose commit is not atomic (one commit per staged path)', async () => {
    const report = await checkContract(lakeStoreContract, factory(PathByPathCommit));
    expect(report.failed.map((f) => f.name)).toEqual([
      named('commit makes all staged paths visible at once'),
      named('revert adds a commit undoing a commit'),
    ]);
  });

  it('fails a store whose merge silently overwrites conflicting paths, and only that case', async () => {
    const report = await checkContract(lakeStoreContract, factory(OverwritingMerge));
    expect(report.failed.map((f) => f.name)).toEqual([named('is a conflict naming the path')]);
  });

  it('fails a store whose merge ignores its strategy in the two strategy cases only', async () => {
    const report = await checkContract(lakeStoreContract, factory(IgnoredMergeStrategy));
    expect(report.failed.map((f) => f.name)).toEqual([
      named('merge with strategy source-wins'),
      named('merge with strategy dest-wins'),
    ]);
  });

  it("fails a store whose merge strategy drops the losing side's own changes", async () => {
    const report = await checkContract(lakeStoreContract, factory(WholeTreeMergeStrategy));
    expect(report.failed.map((f) => f.name)).toEqual([
      named('merge with strategy source-wins'),
      named('merge with strategy dest-wins'),
    ]);
  });

  it('fails a store whose delete is ignored, starting with the plain delete case', async () => {
    const report = await checkContract(lakeStoreContract, factory(IgnoredDelete));
    expect(report.failed.map((f) => f.name)).toEqual([
      named('delete removes the object from the branch'),
      named('commit makes all staged paths visible at once'),
      named('delete is staged'),
      named('diff lists added, removed and changed'),
      named('merge of diverged branches'),
      named('merge with strategy source-wins'),
      named('merge with strategy dest-wins'),
    ]);
  });

  it('fails a store that declares no merge but merges, in the capability case only', async () => {
    const report = await checkContract(lakeStoreContract, factory(UndeclaredMerge));
    expect(report.failed.map((f) => f.name)).toEqual([named('capability flags tell the truth')]);
  });

  it('fails a store whose reopen loses writes made since the last commit', async () => {
    const report = await checkContract(lakeStoreContract, async () => {
      const impl = new MemoryLakeStore();
      const reopen = async () =>
        new MemoryLakeStore({ ...impl.state, staged: new Map(), heads: new Map(impl.state.heads) });
      return { impl, reopen, cleanup: async () => {} };
    });
    expect(report.failed.map((f) => f.name)).toEqual([
      named('writes since the last commit are still there after the store is reopened'),
      named('committed and staged data survive closing and reopening'),
    ]);
  });

  it('skips (never passes) the durability case when the fixture cannot reopen', async () => {
    const report = await checkContract(lakeStoreContract, async () => ({
      impl: new MemoryLakeStore(),
      cleanup: async () => {},
    }));
    expect(report.failed).toEqual([]);
    expect(report.skipped).toContain(named('survive closing and reopening'));
  });
});
