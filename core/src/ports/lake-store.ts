/**
 * LakeStore: objects addressed by (ref, path), versioned like lakeFS.
 *
 * A *ref* is a branch name or a commit id. Writes go to a branch's staging area and
 * become visible to readers of a commit only after `commit` (atomic: all staged paths
 * or none). Plain object stores without versioning set `branching: false`; there `put`
 * is visible at once and `commit` records a marker only.
 *
 * Call order: `createBranch(work, from main)` → `put`… → `commit(work)` → `merge(work → main)`.
 * A failed job deletes its branch; main is untouched.
 */

export interface LakeCapabilities {
  /** Branches, commits, log and diff exist. Default true. */
  branching: boolean;
  /** `merge` between branches. Default true. */
  merge: boolean;
  /** `revert` of a commit on a branch. Default true. */
  revert: boolean;
  /** `locate` returns a path or URL DuckDB can read directly. Default true. */
  directRead: boolean;
}

export interface Commit {
  id: string;
  parents: string[];
  message: string;
  metadata: Record<string, string>;
  /** ISO-8601 UTC. */
  committedAt: string;
}

export interface ObjectInfo {
  path: string;
  size: number;
  /** Content hash (sha256 hex for the embedded lake, ETag elsewhere). */
  checksum: string;
}

export interface DiffEntry {
  path: string;
  type: 'added' | 'removed' | 'changed';
}

/**
 * How a merge resolves a path changed differently on both sides (lakeFS's merge `strategy`).
 * - `source-wins`: the source's version (or its deletion) of each conflicting path is kept;
 *   fits a transform whose output is a pure function of its inputs, rerun on a branch.
 * - `dest-wins`: the destination's version of each conflicting path is kept.
 * Either way only conflicting paths are decided by the strategy: non-conflicting changes of
 * both sides are kept as in any merge.
 */
export type MergeStrategy = 'source-wins' | 'dest-wins';

export interface MergeOptions {
  /** Message of the merge commit. Default `Merge '<source>' into '<into>'`. */
  message?: string;
  /** Resolution of conflicting paths. Default: none — a conflict throws LAKE_CONFLICT. */
  strategy?: MergeStrategy;
}

export interface LakeStore {
  readonly capabilities: LakeCapabilities;
  /** The default branch, `main` unless configured. */
  readonly defaultBranch: string;

  /** Stage an object on a branch (overwrites a staged or committed object at the path). */
  put(branch: string, path: string, data: Uint8Array): Promise<ObjectInfo>;
  /** Read an object; a branch ref sees its staged writes. Null when absent. */
  get(ref: string, path: string): Promise<Uint8Array | null>;
  /** Objects under a prefix, sorted by path. */
  list(ref: string, prefix?: string): Promise<ObjectInfo[]>;
  /** Stage a deletion. Deleting an absent path is a no-op. */
  delete(branch: string, path: string): Promise<void>;
  /**
   * A location DuckDB (or any reader) can open directly for a committed object:
   * a local file path, or an `s3://` URL. Requires `directRead`.
   */
  locate(ref: string, path: string): Promise<string>;

  /** Commit everything staged on the branch atomically. Throws LAKE_NO_CHANGES when nothing is staged unless `allowEmpty`. */
  commit(
    branch: string,
    message: string,
    options?: { metadata?: Record<string, string>; allowEmpty?: boolean },
  ): Promise<Commit>;
  /** Create a branch at a ref. Throws LAKE_CONFLICT if it exists. */
  createBranch(name: string, from: string): Promise<void>;
  /** Delete a branch and its staged changes (not the default branch). Idempotent. */
  deleteBranch(name: string): Promise<void>;
  listBranches(): Promise<{ name: string; commitId: string }[]>;
  /** Resolve a ref to its commit id. Throws LAKE_NOT_FOUND. */
  resolve(ref: string): Promise<string>;
  /**
   * Merge committed changes of `source` into branch `into`; fast-forward or a merge commit.
   * A three-way merge by path from the merge base: a path changed on one side only takes
   * that side, changed the same way on both sides is fine. A path changed differently on
   * both sides (a deletion counts as a change) is a conflict: by default the merge throws
   * LAKE_CONFLICT naming the paths and `into` is untouched; `options.strategy` resolves it.
   */
  merge(source: string, into: string, options?: MergeOptions): Promise<Commit>;
  /** New commit on the branch undoing the changes of `commitId`. */
  revert(branch: string, commitId: string): Promise<Commit>;
  /** Paths that differ between two refs. */
  diff(from: string, to: string): Promise<DiffEntry[]>;
  /** Commits reachable from a ref, newest first. */
  log(ref: string, options?: { limit?: number }): Promise<Commit[]>;
  close(): Promise<void>;
}

export const defaultLakeCapabilities: LakeCapabilities = {
  branching: true,
  merge: true,
  revert: true,
  directRead: true,
};
