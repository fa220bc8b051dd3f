import { open, readdir } from 'node:fs/promises';
import { VigilError } from '@vigil/core';
import { isErrnoCode } from '../files/errno-code.js';
import type { ObjectStore } from '../objects/object-store.js';
import { COMMIT_PREFIX, type CommitRecord, isCommitRecord } from './commit-record.js';

const commitIdPattern = /^[0-9a-f]{8,64}$/;

/** Reads commits (immutable, so cached) and walks their history. */
export class CommitGraph {
  readonly #objects: ObjectStore;
  readonly #cache = new Map<string, CommitRecord>();

  constructor(objects: ObjectStore) {
    this.#objects = objects;
  }

  async write(record: CommitRecord): Promise<string> {
    const { hash } = await this.#objects.writeJson(record, { sync: true });
    this.#cache.set(hash, record);
    return hash;
  }

  /** The commit with this full id, or null. */
  async tryRead(id: string): Promise<CommitRecord | null> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    if (!/^[0-9a-f]{64}$/.test(id) || !(await this.#startsLikeCommit(id))) return null;
    const bytes = await this.#objects.read(id);
    if (bytes === null) return null;
    const record: unknown = JSON.parse(bytes.toString('utf8'));
    if (!isCommitRecord(record)) return null;
    this.#cache.set(id, record);
    return record;
  }

  async read(id: string): Promise<CommitRecord> {
    const record = await this.tryRead(id);
    if (!record)
      throw new VigilError('VIGIL_LAKE_NOT_FOUND', `commit '${id}' does not exist`, { details: { ref: id } });
    return record;
  }

  /**
   * The full id of the commit whose id starts with `prefix` (8 to 64 hex characters);
   * null when none; LAKE_NOT_FOUND naming the ref when the prefix is ambiguous.
   */
  async find(prefix: string): Promise<string | null> {
    if (!commitIdPattern.test(prefix)) return null;
    if (prefix.length === 64) return (await this.tryRead(prefix)) ? prefix : null;
    let names: string[];
    try {
      names = await readdir(this.#objects.fanoutDir(prefix.slice(0, 2)));
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return null;
      throw error;
    }
    const matches: string[] = [];
    for (const name of names) {
      if (name.startsWith(prefix) && (await this.tryRead(name))) matches.push(name);
    }
    if (matches.length > 1) {
      throw new VigilError('VIGIL_LAKE_NOT_FOUND', `ref '${prefix}' is an ambiguous commit id prefix`, {
        details: { ref: prefix, matches: matches.length },
      });
    }
    return matches[0] ?? null;
  }

  /** Commits reachable from `head`, newest first (by committedAt, then discovery order), each once. */
  async log(head: string, limit = Number.POSITIVE_INFINITY): Promise<{ id: string; record: CommitRecord }[]> {
    const out: { id: string; record: CommitRecord }[] = [];
    const seen = new Set<string>([head]);
    let order = 0;
    const frontier: { id: string; record: CommitRecord; order: number }[] = [
      { id: head, record: await this.read(head), order: order++ },
    ];
    while (frontier.length > 0 && out.length < limit) {
      let best = 0;
      for (let i = 1; i < frontier.length; i++) {
        const a = frontier[i]!;
        const b = frontier[best]!;
        if (
          a.record.committedAt > b.record.committedAt ||
          (a.record.committedAt === b.record.committedAt && a.order < b.order)
        )
          best = i;
      }
      const [next] = frontier.splice(best, 1);
      out.push({ id: next!.id, record: next!.record });
      for (const parent of next!.record.parents) {
        if (seen.has(parent)) continue;
        seen.add(parent);
        frontier.push({ id: parent, record: await this.read(parent), order: order++ });
      }
    }
    return out;
  }

  /** Every commit reachable from `head`, itself included. */
  async ancestors(head: string): Promise<Set<string>> {
    const seen = new Set<string>([head]);
    const stack = [head];
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const parent of (await this.read(id)).parents) {
        if (!seen.has(parent)) {
          seen.add(parent);
          stack.push(parent);
        }
      }
    }
    return seen;
  }

  /** The newest common ancestor of two commits (null when their histories are unrelated). */
  async mergeBase(a: string, b: string): Promise<string | null> {
    const ofA = await this.ancestors(a);
    for (const { id } of await this.log(b)) if (ofA.has(id)) return id;
    return null;
  }

  async #startsLikeCommit(id: string): Promise<boolean> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#objects.pathOf(id), 'r');
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return false;
      throw error;
    }
    try {
      const probe = Buffer.alloc(COMMIT_PREFIX.length);
      const { bytesRead } = await handle.read(probe, 0, probe.length, 0);
      return bytesRead === probe.length && probe.toString('utf8') === COMMIT_PREFIX;
    } finally {
      await handle.close();
    }
  }
}
