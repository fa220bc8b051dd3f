import type { Commit, DiffEntry, LakeCapabilities, LakeStore, MergeOptions, ObjectInfo } from '@vigil/core';
import {
  assertMessage,
  assertObjectData,
  assertPrefix,
  checkedLogLimit,
  checkedMergeStrategy,
  checkedMetadata,
  VigilError,
} from '@vigil/core';
import { isLakeFsApiError } from '../client/lakefs-api-error.js';
import { type LakeFsClient, seg } from '../client/lakefs-client.js';
import type {
  ApiCommit,
  ApiDiff,
  ApiMergeResult,
  ApiObjectStats,
  ApiRef,
  ApiRepository,
} from './api-types.js';
import { lakeCall, toLakeError } from './lake-error.js';

/** lakeFS's rule for branch names (pkg/validator ReValidBranchID). */
const BRANCH_NAME = /^\w[-\w]*$/;

export interface LakeFsLakeStoreOptions {
  client: LakeFsClient;
  repository: string;
  defaultBranch: string;
  /** Create the repository when it does not exist, with its data under this storage namespace. */
  create?: { storageNamespace: string };
}

const toCommit = (c: ApiCommit): Commit => ({
  id: c.id,
  parents: [...c.parents],
  message: c.message,
  metadata: { ...(c.metadata ?? {}) },
  committedAt: new Date(c.creation_date * 1000).toISOString(),
});

const byPath = <T extends { path: string }>(a: T, b: T): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/** Paths named in a message: the first ten, then a count. */
function listPaths(paths: readonly string[]): string {
  const shown = paths.slice(0, 10).join("', '");
  return paths.length > 10 ? `'${shown}' and ${paths.length - 10} more` : `'${shown}'`;
}

/**
 * LakeStore over a lakeFS repository through the REST API v1. Staging is lakeFS's
 * uncommitted area of a branch; commits, merges and reverts are lakeFS's own, so every
 * client of the repository (lakectl, Spark through the S3 gateway) sees the same history.
 * Objects travel through the objects API; `directRead` is false (readers copy objects out).
 */
export class LakeFsLakeStore implements LakeStore {
  readonly capabilities: LakeCapabilities = { branching: true, merge: true, revert: true, directRead: false };
  readonly defaultBranch: string;
  readonly repository: string;
  readonly #client: LakeFsClient;
  readonly #repo: string;
  #closed = false;

  private constructor(client: LakeFsClient, repository: string, defaultBranch: string) {
    this.#client = client;
    this.repository = repository;
    this.defaultBranch = defaultBranch;
    this.#repo = `/repositories/${seg(repository)}`;
  }

  /** Connect to the repository (creating it when asked) and check that the default branch exists. */
  static async open(options: LakeFsLakeStoreOptions): Promise<LakeFsLakeStore> {
    const { client, repository, defaultBranch } = options;
    assertBranchName(defaultBranch, 'defaultBranch');
    const store = new LakeFsLakeStore(client, repository, defaultBranch);
    const route = `/repositories/${seg(repository)}`;
    try {
      await client.json<ApiRepository>('GET', route);
    } catch (error) {
      if (!isLakeFsApiError(error, 404))
        throw toLakeError(error, { op: 'open', subject: `repository '${repository}'` });
      if (!options.create) {
        throw new VigilError(
          'VIGIL_LAKE_NOT_FOUND',
          `lakeFS repository '${repository}' does not exist at ${client.endpoint}; create it, or set createRepository: true and storageNamespace`,
          { cause: error, details: { repository } },
        );
      }
      await lakeCall({ op: 'create repository', subject: `repository '${repository}'` }, async () => {
        try {
          await client.send('POST', '/repositories', {
            json: {
              name: repository,
              storage_namespace: options.create?.storageNamespace,
              default_branch: defaultBranch,
            },
          });
        } catch (created) {
          if (!isLakeFsApiError(created, 409)) throw created; // created meanwhile by another client
        }
      });
    }
    await lakeCall(
      { op: 'open', subject: `default branch '${defaultBranch}' of repository '${repository}'` },
      () => client.send('GET', `${route}/branches/${seg(defaultBranch)}`),
    );
    return store;
  }

  async put(branch: string, path: string, data: Uint8Array): Promise<ObjectInfo> {
    this.#open();
    assertObjectData(path, data);
    const stats = await lakeCall({ op: 'put', subject: `branch '${branch}' (object '${path}')` }, () =>
      this.#client.json<ApiObjectStats>('POST', `${this.#repo}/branches/${seg(branch)}/objects`, {
        query: { path },
        bytes: data,
      }),
    );
    return { path, size: stats.size_bytes ?? data.byteLength, checksum: stats.checksum };
  }

  async get(ref: string, path: string): Promise<Uint8Array | null> {
    this.#open();
    try {
      const response = await this.#client.request('GET', `${this.#repo}/refs/${seg(ref)}/objects`, {
        query: { path },
      });
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      if (!isLakeFsApiError(error, 404))
        throw toLakeError(error, { op: 'get', subject: `object '${path}' at '${ref}'` });
    }
    await this.resolve(ref); // lakeFS answers 404 for a missing ref and for a missing object alike
    return null;
  }

  async list(ref: string, prefix = ''): Promise<ObjectInfo[]> {
    this.#open();
    assertPrefix(prefix);
    const objects = await lakeCall({ op: 'list', subject: `ref '${ref}'` }, () =>
      this.#client.all<ApiObjectStats>(`${this.#repo}/refs/${seg(ref)}/objects/ls`, {
        prefix,
        user_metadata: false,
      }),
    );
    return objects
      .filter((o) => o.path_type === 'object')
      .map((o) => ({ path: o.path, size: o.size_bytes ?? 0, checksum: o.checksum }))
      .sort(byPath);
  }

  async delete(branch: string, path: string): Promise<void> {
    this.#open();
    try {
      await this.#client.send('DELETE', `${this.#repo}/branches/${seg(branch)}/objects`, { query: { path } });
    } catch (error) {
      if (!isLakeFsApiError(error, 404))
        throw toLakeError(error, { op: 'delete', subject: `object '${path}' on '${branch}'` });
      await this.#branch(branch, 'delete'); // an absent path is a no-op; an absent branch is not
    }
  }

  async locate(ref: string, path: string): Promise<string> {
    this.#open();
    throw new VigilError(
      'VIGIL_LAKE_UNSUPPORTED',
      `lakeFS store cannot locate '${path}' at '${ref}' for direct reads (directRead is false); read it with get()`,
      { details: { ref, path } },
    );
  }

  async commit(
    branch: string,
    message: string,
    options: { metadata?: Record<string, string>; allowEmpty?: boolean } = {},
  ): Promise<Commit> {
    this.#open();
    assertMessage(message);
    const metadata = checkedMetadata(options.metadata);
    const commit = await lakeCall({ op: 'commit', subject: `branch '${branch}'` }, () =>
      this.#client.json<ApiCommit>('POST', `${this.#repo}/branches/${seg(branch)}/commits`, {
        json: { message, metadata, allow_empty: options.allowEmpty === true },
      }),
    );
    return toCommit(commit);
  }

  async createBranch(name: string, from: string): Promise<void> {
    this.#open();
    assertBranchName(name, 'branch');
    try {
      await this.#client.send('POST', `${this.#repo}/branches`, { json: { name, source: from } });
    } catch (error) {
      if (isLakeFsApiError(error, 409)) {
        throw new VigilError('VIGIL_LAKE_CONFLICT', `lakeFS createBranch: branch '${name}' already exists`, {
          cause: error,
          details: { branch: name },
        });
      }
      throw toLakeError(error, {
        op: 'createBranch',
        subject: `ref '${from}' to create branch '${name}' from`,
      });
    }
  }

  async deleteBranch(name: string): Promise<void> {
    this.#open();
    if (name === this.defaultBranch) {
      throw new VigilError(
        'VIGIL_LAKE_INVALID_REQUEST',
        `lakeFS deleteBranch: branch '${name}' is the default branch and cannot be deleted`,
        { details: { branch: name } },
      );
    }
    try {
      await this.#client.send('DELETE', `${this.#repo}/branches/${seg(name)}`);
    } catch (error) {
      if (!isLakeFsApiError(error, 404))
        throw toLakeError(error, { op: 'deleteBranch', subject: `branch '${name}'` });
    }
  }

  async listBranches(): Promise<{ name: string; commitId: string }[]> {
    this.#open();
    const refs = await lakeCall({ op: 'listBranches', subject: `repository '${this.repository}'` }, () =>
      this.#client.all<ApiRef>(`${this.#repo}/branches`),
    );
    return refs.map((r) => ({ name: r.id, commitId: r.commit_id }));
  }

  async resolve(ref: string): Promise<string> {
    this.#open();
    return (await this.#commit(ref, 'resolve')).id;
  }

  async merge(source: string, into: string, options: MergeOptions = {}): Promise<Commit> {
    this.#open();
    if (options.message !== undefined) assertMessage(options.message);
    const strategy = checkedMergeStrategy(options.strategy);
    const subject = `merge of '${source}' into '${into}'`;
    let result: ApiMergeResult;
    try {
      // lakeFS resolves conflicting paths itself when given a `strategy` (source-wins, dest-wins).
      const message = options.message ?? `Merge '${source}' into '${into}'`;
      result = await this.#client.json<ApiMergeResult>(
        'POST',
        `${this.#repo}/refs/${seg(source)}/merge/${seg(into)}`,
        {
          json:
            strategy === undefined
              ? { message }
              : { message, strategy, metadata: { mergeStrategy: strategy } },
        },
      );
    } catch (error) {
      if (isLakeFsApiError(error, 409)) {
        const paths = await this.#mergeConflicts(source, into);
        throw new VigilError(
          'VIGIL_LAKE_CONFLICT',
          paths.length > 0
            ? `lakeFS ${subject} conflicts on path ${listPaths(paths)}: changed on both sides`
            : `lakeFS ${subject} conflicts (lakeFS: ${error.serverMessage})`,
          { cause: error, details: { source, into, paths } },
        );
      }
      // Nothing of the source is missing from `into`: up to date, like a no-op merge.
      if (isLakeFsApiError(error, 400) && /\bno changes\b/i.test(error.serverMessage))
        return this.#commit(into, 'merge');
      if (isLakeFsApiError(error, 404)) {
        await this.#commit(source, 'merge'); // names the missing side
        await this.#branch(into, 'merge');
      }
      throw toLakeError(error, { op: 'merge', subject });
    }
    return this.#commit(result.reference, 'merge');
  }

  async revert(branch: string, commitId: string): Promise<Commit> {
    this.#open();
    const target = await this.#commit(commitId, 'revert');
    try {
      await this.#client.send('POST', `${this.#repo}/branches/${seg(branch)}/revert`, {
        json: { ref: target.id, parent_number: target.parents.length > 1 ? 1 : 0 },
      });
    } catch (error) {
      if (isLakeFsApiError(error, 409)) {
        const paths = await this.#revertConflicts(branch, target);
        throw new VigilError(
          'VIGIL_LAKE_CONFLICT',
          paths.length > 0
            ? `lakeFS revert of '${commitId}' on '${branch}' conflicts on path ${listPaths(paths)}: changed since`
            : `lakeFS revert of '${commitId}' on '${branch}' conflicts (lakeFS: ${error.serverMessage})`,
          { cause: error, details: { branch, commitId, paths } },
        );
      }
      throw toLakeError(error, { op: 'revert', subject: `revert of '${commitId}' on branch '${branch}'` });
    }
    return this.#commit(branch, 'revert');
  }

  async diff(from: string, to: string): Promise<DiffEntry[]> {
    this.#open();
    return this.#diff(from, to, 'two_dot', 'diff');
  }

  async log(ref: string, options: { limit?: number } = {}): Promise<Commit[]> {
    this.#open();
    const limit = checkedLogLimit(options.limit);
    if (limit === 0) return [];
    const commits = await lakeCall({ op: 'log', subject: `ref '${ref}'` }, () =>
      this.#client.all<ApiCommit>(`${this.#repo}/refs/${seg(ref)}/commits`, {}, limit),
    );
    return commits.map(toCommit);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'lakeFS store used after close()');
  }

  async #commit(ref: string, op: string): Promise<Commit> {
    const commit = await lakeCall({ op, subject: `ref '${ref}' in repository '${this.repository}'` }, () =>
      this.#client.json<ApiCommit>('GET', `${this.#repo}/commits/${seg(ref)}`),
    );
    return toCommit(commit);
  }

  async #branch(name: string, op: string): Promise<void> {
    await lakeCall({ op, subject: `branch '${name}'` }, () =>
      this.#client.send('GET', `${this.#repo}/branches/${seg(name)}`),
    );
  }

  async #diff(from: string, to: string, type: 'two_dot' | 'three_dot', op: string): Promise<DiffEntry[]> {
    const entries = await lakeCall({ op, subject: `diff of '${from}' and '${to}'` }, () =>
      this.#client.all<ApiDiff>(`${this.#repo}/refs/${seg(from)}/diff/${seg(to)}`, { type }),
    );
    const out: DiffEntry[] = [];
    for (const e of entries) {
      if (e.path_type !== 'object') continue;
      if (e.type === 'added' || e.type === 'removed' || e.type === 'changed')
        out.push({ path: e.path, type: e.type });
      else if (e.type === 'conflict') out.push({ path: e.path, type: 'changed' });
    }
    return out.sort(byPath);
  }

  /** Paths changed differently on both sides since the merge base (lakeFS's three-dot compare marks them). */
  async #mergeConflicts(source: string, into: string): Promise<string[]> {
    const entries = await this.#client
      .all<ApiDiff>(`${this.#repo}/refs/${seg(into)}/diff/${seg(source)}`, { type: 'three_dot' })
      .catch(() => [] as ApiDiff[]);
    const marked = entries.filter((e) => e.type === 'conflict').map((e) => e.path);
    if (marked.length > 0) return marked.sort();
    const [theirs, ours] = await Promise.all([
      this.#diff(into, source, 'three_dot', 'merge').catch(() => []),
      this.#diff(source, into, 'three_dot', 'merge').catch(() => []),
    ]);
    const changed = new Set(ours.map((d) => d.path));
    return theirs.filter((d) => changed.has(d.path)).map((d) => d.path);
  }

  /** Paths the reverted commit changed that changed again since. */
  async #revertConflicts(branch: string, target: Commit): Promise<string[]> {
    const parent = target.parents[0];
    if (parent === undefined) return [];
    const [undo, since] = await Promise.all([
      this.#diff(parent, target.id, 'two_dot', 'revert').catch(() => []),
      this.#diff(target.id, branch, 'two_dot', 'revert').catch(() => []),
    ]);
    const changed = new Set(since.map((d) => d.path));
    return undo.filter((d) => changed.has(d.path)).map((d) => d.path);
  }
}

function assertBranchName(name: string, field: string): void {
  if (typeof name !== 'string' || !BRANCH_NAME.test(name)) {
    throw new VigilError(
      'VIGIL_LAKE_INVALID_REQUEST',
      `${field} '${String(name)}' is not a valid lakeFS branch name: use letters, digits, '_' and '-' (no '/'), not starting with '-'`,
      { details: { field, branch: name } },
    );
  }
}
