import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import {
  assertMessage,
  assertObjectData,
  assertObjectPath,
  assertPrefix,
  assertRef,
  type Commit,
  checkedLogLimit,
  checkedMergeStrategy,
  checkedMetadata,
  type DiffEntry,
  type LakeCapabilities,
  type LakeStore,
  type MergeOptions,
  type ObjectInfo,
  VigilError,
} from '@vigil/core';
import { CommitGraph } from './history/commit-graph.js';
import { type CommitRecord, toCommit } from './history/commit-record.js';
import { comparePaths, threeWayMerge } from './history/three-way-merge.js';
import { diffTrees } from './history/tree-diff.js';
import { withFileLock } from './locking/file-lock.js';
import { ObjectStore } from './objects/object-store.js';
import { type Tree, type TreeEntry, TreeStore } from './objects/tree.js';
import { assertBranchName, branchFileName, isBranchName } from './refs/branch-name.js';
import { RefStore } from './refs/ref-store.js';
import { type StagedChange, StagingArea } from './staging/staging-area.js';

export interface LocalLakeOptions {
  /** Absolute folder of the lake. */
  root: string;
  /** Branch created with the repository and protected from deletion. */
  defaultBranch: string;
}

/** What a ref shows: a commit's tree, plus the staged changes when the ref is a branch. */
interface View {
  commitId: string;
  tree: Tree;
  staged: ReadonlyMap<string, StagedChange>;
}

const capabilities: LakeCapabilities = Object.freeze({
  branching: true,
  merge: true,
  revert: true,
  directRead: true,
});

/**
 * An embedded, lakeFS-like versioned lake on the local file system.
 *
 * Layout under `root`: `objects/<hash[0:2]>/<hash>` immutable content-addressed objects
 * (data, trees and commits); `refs/heads/<branch>` commit ids, replaced atomically;
 * `staging/<branch>.jsonl` staged changes; `locks/` per-branch lock files; `tmp/`.
 *
 * A commit writes its tree and commit objects first and moves the branch by a rename last,
 * so a crash at any point leaves the branch at its old commit or at the new one. Writers of
 * one branch are serialised in-process by a queue and across processes by a lock file.
 * `diff`, `get` and `list` on a branch ref include its staged changes; `merge` and
 * `revert` work on committed data and refuse a branch with staged changes.
 */
export class LocalLakeStore implements LakeStore {
  readonly capabilities = capabilities;
  readonly defaultBranch: string;
  readonly #root: string;
  readonly #objects: ObjectStore;
  readonly #trees: TreeStore;
  readonly #graph: CommitGraph;
  readonly #refs: RefStore;
  readonly #staging: StagingArea;
  readonly #locks: string;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(options: LocalLakeOptions) {
    this.#root = resolvePath(options.root);
    this.defaultBranch = options.defaultBranch;
    const tmp = join(this.#root, 'tmp');
    this.#objects = new ObjectStore(join(this.#root, 'objects'), tmp);
    this.#trees = new TreeStore(this.#objects);
    this.#graph = new CommitGraph(this.#objects);
    this.#refs = new RefStore(join(this.#root, 'refs', 'heads'), tmp);
    this.#staging = new StagingArea(join(this.#root, 'staging'), tmp);
    this.#locks = join(this.#root, 'locks');
  }

  /** Open (creating when needed) the lake at `options.root`. */
  static async open(options: LocalLakeOptions): Promise<LocalLakeStore> {
    assertBranchName(options.defaultBranch, 'defaultBranch');
    const store = new LocalLakeStore(options);
    await store.#initialise();
    return store;
  }

  /** Absolute folder of the lake. */
  get root(): string {
    return this.#root;
  }

  async #initialise(): Promise<void> {
    for (const dir of ['objects', join('refs', 'heads'), 'staging', 'locks', 'tmp']) {
      await mkdir(join(this.#root, dir), { recursive: true });
    }
    await this.#removeOrphanTemporaries();
    await this.#withBranchLock(this.defaultBranch, async () => {
      if ((await this.#refs.read(this.defaultBranch)) !== null) return;
      const record: CommitRecord = {
        tree: await this.#trees.write(new Map()),
        parents: [],
        message: 'Repository created',
        metadata: {},
        committedAt: new Date().toISOString(),
      };
      await this.#refs.write(this.defaultBranch, await this.#graph.write(record));
    });
  }

  /** Temporary files of processes that died mid-write (the name holds the writer's pid). */
  async #removeOrphanTemporaries(): Promise<void> {
    const tmp = join(this.#root, 'tmp');
    for (const name of await readdir(tmp)) {
      const pid = Number.parseInt(name.split('.').at(-3) ?? '', 10);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      try {
        process.kill(pid, 0);
      } catch (error) {
        if ((error as { code?: string }).code === 'ESRCH') await rm(join(tmp, name), { force: true });
      }
    }
  }

  // ---- objects -------------------------------------------------------------------------

  async put(branch: string, path: string, data: Uint8Array): Promise<ObjectInfo> {
    return this.#track(async () => {
      assertBranchName(branch, 'branch');
      assertObjectPath(path);
      assertObjectData(path, data);
      const stored = await this.#objects.write(data);
      await this.#withBranchLock(branch, async () => {
        const head = await this.#head(branch);
        await this.#staging.stage(branch, head, [[path, stored]]);
      });
      return { path, size: stored.size, checksum: stored.hash };
    });
  }

  async get(ref: string, path: string): Promise<Uint8Array | null> {
    return this.#track(async () => {
      assertObjectPath(path);
      const entry = lookup(await this.#view(ref), path);
      if (!entry) return null;
      const bytes = await this.#objects.read(entry.hash);
      if (bytes === null)
        throw new VigilError('VIGIL_LAKE_NOT_FOUND', `object of '${path}' is missing from the lake`);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
  }

  async list(ref: string, prefix = ''): Promise<ObjectInfo[]> {
    return this.#track(async () => {
      assertPrefix(prefix);
      const view = await this.#view(ref);
      const out: ObjectInfo[] = [];
      for (const [path, entry] of view.tree) {
        if (path.startsWith(prefix) && !view.staged.has(path)) out.push(info(path, entry));
      }
      for (const [path, change] of view.staged) {
        if (change && path.startsWith(prefix)) out.push(info(path, change));
      }
      return out.sort((a, b) => comparePaths(a.path, b.path));
    });
  }

  async delete(branch: string, path: string): Promise<void> {
    return this.#track(async () => {
      assertBranchName(branch, 'branch');
      assertObjectPath(path);
      await this.#withBranchLock(branch, async () => {
        const head = await this.#head(branch);
        const view = await this.#branchView(branch, head);
        if (!lookup(view, path)) return;
        await this.#staging.stage(branch, head, [[path, null]]);
      });
    });
  }

  async locate(ref: string, path: string): Promise<string> {
    return this.#track(async () => {
      assertObjectPath(path);
      const entry = lookup(await this.#view(ref), path);
      if (!entry) {
        throw new VigilError('VIGIL_LAKE_NOT_FOUND', `path '${path}' does not exist at ref '${ref}'`, {
          details: { ref, path },
        });
      }
      return this.#objects.pathOf(entry.hash);
    });
  }

  // ---- commits and branches ------------------------------------------------------------

  async commit(
    branch: string,
    message: string,
    options: { metadata?: Record<string, string>; allowEmpty?: boolean } = {},
  ): Promise<Commit> {
    return this.#track(async () => {
      assertBranchName(branch, 'branch');
      assertMessage(message);
      const metadata = checkedMetadata(options.metadata);
      return this.#withBranchLock(branch, async () => {
        const head = await this.#head(branch);
        const parent = await this.#graph.read(head);
        const staged = await this.#staging.changes(branch, head);
        if (staged.size === 0 && !options.allowEmpty) {
          throw new VigilError('VIGIL_LAKE_NO_CHANGES', `branch '${branch}' has nothing staged to commit`, {
            details: { branch },
          });
        }
        const tree = new Map(await this.#trees.read(parent.tree));
        const added: string[] = [];
        for (const [path, change] of staged) {
          if (change) {
            tree.set(path, change);
            added.push(change.hash);
          } else tree.delete(path);
        }
        // Staged objects were written without fsync; make them durable before the ref points at them.
        await this.#objects.sync(added);
        const record: CommitRecord = {
          tree: await this.#trees.write(tree),
          parents: [head],
          message,
          metadata,
          committedAt: notBefore([parent]),
        };
        const id = await this.#graph.write(record);
        await this.#refs.write(branch, id); // the atomic step
        await this.#staging.clear(branch);
        return toCommit(id, record);
      });
    });
  }

  async createBranch(name: string, from: string): Promise<void> {
    return this.#track(async () => {
      assertBranchName(name, 'name');
      const commitId = await this.#resolve(from, 'from');
      await this.#withBranchLock(name, async () => {
        if ((await this.#refs.read(name)) !== null) {
          throw new VigilError('VIGIL_LAKE_CONFLICT', `branch '${name}' already exists`, {
            details: { name },
          });
        }
        await this.#staging.clear(name);
        await this.#refs.write(name, commitId);
      });
    });
  }

  async deleteBranch(name: string): Promise<void> {
    return this.#track(async () => {
      assertBranchName(name, 'name');
      if (name === this.defaultBranch) {
        throw new VigilError(
          'VIGIL_LAKE_CONFLICT',
          `name '${name}' is the default branch and cannot be deleted`,
          {
            details: { name },
          },
        );
      }
      await this.#withBranchLock(name, async () => {
        await this.#staging.clear(name);
        await this.#refs.remove(name);
      });
    });
  }

  async listBranches(): Promise<{ name: string; commitId: string }[]> {
    return this.#track(async () => {
      const out: { name: string; commitId: string }[] = [];
      for (const name of await this.#refs.list()) {
        const commitId = await this.#refs.read(name);
        if (commitId !== null) out.push({ name, commitId });
      }
      return out;
    });
  }

  async resolve(ref: string): Promise<string> {
    return this.#track(() => this.#resolve(ref, 'ref'));
  }

  async merge(source: string, into: string, options: MergeOptions = {}): Promise<Commit> {
    return this.#track(async () => {
      assertBranchName(into, 'into');
      if (options.message !== undefined) assertMessage(options.message);
      const strategy = checkedMergeStrategy(options.strategy);
      return this.#withBranchLock(into, async () => {
        const sourceId = await this.#resolve(source, 'source');
        const intoId = await this.#head(into);
        await this.#assertClean(into, intoId, 'merge into');
        const intoAncestors = await this.#graph.ancestors(intoId);
        if (intoAncestors.has(sourceId)) return toCommit(intoId, await this.#graph.read(intoId)); // up to date
        if ((await this.#graph.ancestors(sourceId)).has(intoId)) {
          await this.#refs.write(into, sourceId); // fast-forward
          return toCommit(sourceId, await this.#graph.read(sourceId));
        }
        const baseId = await this.#graph.mergeBase(intoId, sourceId);
        const [ours, theirs] = [await this.#graph.read(intoId), await this.#graph.read(sourceId)];
        const base = baseId === null ? new Map<string, TreeEntry>() : await this.#commitTree(baseId);
        const merged = threeWayMerge(
          base,
          await this.#trees.read(ours.tree),
          await this.#trees.read(theirs.tree),
          strategy,
        );
        if (merged.conflicts.length > 0) {
          const shown = merged.conflicts.slice(0, 10).join("', '");
          const more = merged.conflicts.length > 10 ? ` and ${merged.conflicts.length - 10} more` : '';
          throw new VigilError(
            'VIGIL_LAKE_CONFLICT',
            `merge of '${source}' into '${into}' conflicts on path '${shown}'${more}: changed on both sides`,
            { details: { source, into, paths: merged.conflicts } },
          );
        }
        const record: CommitRecord = {
          tree: await this.#trees.write(merged.tree),
          parents: [intoId, sourceId],
          message: options.message ?? `Merge '${source}' into '${into}'`,
          metadata: {
            mergeSource: source,
            mergeSourceCommit: sourceId,
            ...(strategy === undefined ? {} : { mergeStrategy: strategy }),
          },
          committedAt: notBefore([ours, theirs]),
        };
        const id = await this.#graph.write(record);
        await this.#refs.write(into, id);
        return toCommit(id, record);
      });
    });
  }

  async revert(branch: string, commitId: string): Promise<Commit> {
    return this.#track(async () => {
      assertBranchName(branch, 'branch');
      return this.#withBranchLock(branch, async () => {
        const head = await this.#head(branch);
        await this.#assertClean(branch, head, 'revert on');
        const targetId = await this.#resolve(commitId, 'commitId');
        const target = await this.#graph.read(targetId);
        const parentId = target.parents[0];
        const before =
          parentId === undefined ? new Map<string, TreeEntry>() : await this.#commitTree(parentId);
        const after = await this.#trees.read(target.tree);
        const current = await this.#graph.read(head);
        const tree = new Map(await this.#trees.read(current.tree));
        const changes = diffTrees(before, after);
        if (changes.length === 0) {
          throw new VigilError(
            'VIGIL_LAKE_NO_CHANGES',
            `commitId '${commitId}' changed nothing, so there is nothing to revert`,
            {
              details: { commitId },
            },
          );
        }
        const conflicts: string[] = [];
        for (const { path } of changes) {
          if (tree.get(path)?.hash !== after.get(path)?.hash) {
            conflicts.push(path);
            continue;
          }
          const previous = before.get(path);
          if (previous) tree.set(path, previous);
          else tree.delete(path);
        }
        if (conflicts.length > 0) {
          throw new VigilError(
            'VIGIL_LAKE_CONFLICT',
            `revert of '${commitId}' on '${branch}' conflicts on path '${conflicts.slice(0, 10).join("', '")}': changed since that commit`,
            { details: { branch, commitId: targetId, paths: conflicts } },
          );
        }
        const record: CommitRecord = {
          tree: await this.#trees.write(tree),
          parents: [head],
          message: `Revert "${target.message}"`,
          metadata: { revertedCommit: targetId },
          committedAt: notBefore([current]),
        };
        const id = await this.#graph.write(record);
        await this.#refs.write(branch, id);
        return toCommit(id, record);
      });
    });
  }

  async diff(from: string, to: string): Promise<DiffEntry[]> {
    return this.#track(async () =>
      diffTrees(materialise(await this.#view(from)), materialise(await this.#view(to))),
    );
  }

  async log(ref: string, options: { limit?: number } = {}): Promise<Commit[]> {
    return this.#track(async () => {
      const limit = checkedLogLimit(options.limit);
      const head = await this.#resolve(ref, 'ref');
      return (await this.#graph.log(head, limit)).map(({ id, record }) => toCommit(id, record));
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  // ---- internals -----------------------------------------------------------------------

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new VigilError('VIGIL_KERNEL_CLOSED', `local lake at '${this.#root}' is closed`));
    }
    const promise = work();
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  #withBranchLock<T>(branch: string, work: () => Promise<T>): Promise<T> {
    return withFileLock(join(this.#locks, `${branchFileName(branch)}.lock`), work);
  }

  async #head(branch: string): Promise<string> {
    const head = await this.#refs.read(branch);
    if (head === null) {
      throw new VigilError('VIGIL_LAKE_NOT_FOUND', `branch '${branch}' does not exist`, {
        details: { branch },
      });
    }
    return head;
  }

  async #resolve(ref: string, field: string): Promise<string> {
    assertRef(ref, field);
    if (isBranchName(ref)) {
      const head = await this.#refs.read(ref);
      if (head !== null) return head;
    }
    const id = await this.#graph.find(ref);
    if (id !== null) return id;
    throw new VigilError('VIGIL_LAKE_NOT_FOUND', `${field} '${ref}' is neither a branch nor a commit id`, {
      details: { field, ref },
    });
  }

  async #commitTree(commitId: string): Promise<Tree> {
    return this.#trees.read((await this.#graph.read(commitId)).tree);
  }

  async #branchView(branch: string, head: string): Promise<View> {
    return {
      commitId: head,
      tree: await this.#commitTree(head),
      staged: await this.#staging.changes(branch, head),
    };
  }

  async #view(ref: string): Promise<View> {
    if (isBranchName(ref)) {
      const head = await this.#refs.read(ref);
      if (head !== null) return this.#branchView(ref, head);
    }
    const commitId = await this.#resolve(ref, 'ref');
    return { commitId, tree: await this.#commitTree(commitId), staged: new Map() };
  }

  async #assertClean(branch: string, head: string, action: string): Promise<void> {
    const staged = await this.#staging.changes(branch, head);
    if (staged.size > 0) {
      throw new VigilError(
        'VIGIL_LAKE_CONFLICT',
        `cannot ${action} branch '${branch}': it has ${staged.size} staged change(s); commit or delete them first`,
        { details: { branch, staged: staged.size } },
      );
    }
  }
}

function lookup(view: View, path: string): TreeEntry | null {
  if (view.staged.has(path)) return view.staged.get(path) ?? null;
  return view.tree.get(path) ?? null;
}

function materialise(view: View): Tree {
  if (view.staged.size === 0) return view.tree;
  const tree = new Map(view.tree);
  for (const [path, change] of view.staged) {
    if (change) tree.set(path, change);
    else tree.delete(path);
  }
  return tree;
}

function info(path: string, entry: TreeEntry): ObjectInfo {
  return { path, size: entry.size, checksum: entry.hash };
}

/** Now, but never earlier than a parent, so `log` order follows the graph even if the clock steps back. */
function notBefore(parents: readonly CommitRecord[]): string {
  let at = new Date().toISOString();
  for (const parent of parents) if (parent.committedAt > at) at = parent.committedAt;
  return at;
}
