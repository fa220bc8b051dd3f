import { appendFile, open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@vigil/core';
import { isErrnoCode } from '../files/errno-code.js';
import type { TreeEntry } from '../objects/tree.js';
import { branchFileName } from '../refs/branch-name.js';

/** A staged change of one path: the new object, or null for a deletion. */
export type StagedChange = TreeEntry | null;

interface Header {
  /** Commit the changes were staged on; staging whose base is not the head is stale. */
  base: string;
  /** Makes every staging file's first line unique, so a cache can tell files apart. */
  nonce: string;
}

interface Loaded {
  header: Header;
  headerLine: string;
  /** Bytes parsed so far (always just after a newline). */
  offset: number;
  /** File size at the last load; larger than offset when the last line is torn. */
  size: number;
  changes: Map<string, StagedChange>;
}

type Line = { path: string; hash: string; size: number } | { path: string; deleted: true };

let nonceCounter = 0;

/**
 * Staged (uncommitted) changes of each branch: a journal `staging/<branch>.jsonl` whose
 * first line names the commit the changes are based on and each further line stages one
 * path. Appending keeps `put` O(1) however many paths are staged; a torn last line
 * (process killed mid-append) is ignored and cut off before the next append. Loaded
 * journals are cached and only their new tail is read on the next access.
 */
export class StagingArea {
  readonly #dir: string;
  readonly #tmpDir: string;
  readonly #cache = new Map<string, Loaded>();

  constructor(dir: string, tmpDir: string) {
    this.#dir = dir;
    this.#tmpDir = tmpDir;
  }

  #file(branch: string): string {
    return join(this.#dir, `${branchFileName(branch)}.jsonl`);
  }

  /** Changes staged on `branch` on top of its head commit `head` (empty when none or stale). */
  async changes(branch: string, head: string): Promise<ReadonlyMap<string, StagedChange>> {
    const loaded = await this.#load(branch);
    if (!loaded || loaded.header.base !== head) return new Map();
    return loaded.changes;
  }

  /** Stage changes on `branch` whose head is `head`. The caller holds the branch lock. */
  async stage(branch: string, head: string, changes: readonly [string, StagedChange][]): Promise<void> {
    const file = this.#file(branch);
    const body = changes.map(([path, change]) => `${JSON.stringify(toLine(path, change))}\n`).join('');
    const loaded = await this.#load(branch);
    if (!loaded || loaded.header.base !== head) {
      nonceCounter += 1;
      const header: Header = { base: head, nonce: `${process.pid}-${Date.now()}-${nonceCounter}` };
      await writeFileAtomic(file, `${JSON.stringify(header)}\n${body}`, {
        tmpDir: this.#tmpDir,
        sync: false,
      });
      this.#cache.delete(branch);
      return;
    }
    if (loaded.size > loaded.offset) await truncate(file, loaded.offset);
    await appendFile(file, body);
  }

  /** Drop everything staged on the branch. */
  async clear(branch: string): Promise<void> {
    await rm(this.#file(branch), { force: true });
    this.#cache.delete(branch);
  }

  async #load(branch: string): Promise<Loaded | null> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#file(branch), 'r');
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) {
        this.#cache.delete(branch);
        return null;
      }
      throw error;
    }
    try {
      const { size } = await handle.stat();
      let loaded = this.#cache.get(branch);
      if (loaded) {
        const probe = Buffer.alloc(loaded.headerLine.length + 1);
        const { bytesRead } = await handle.read(probe, 0, probe.length, 0);
        const same = bytesRead === probe.length && probe.toString('utf8') === `${loaded.headerLine}\n`;
        if (!same || size < loaded.offset) loaded = undefined;
      }
      if (!loaded) {
        const text = await readRange(handle, 0, size);
        const end = text.indexOf('\n');
        if (end < 0) return null;
        const headerLine = text.slice(0, end);
        loaded = {
          header: JSON.parse(headerLine) as Header,
          headerLine,
          offset: Buffer.byteLength(headerLine) + 1,
          size,
          changes: new Map(),
        };
      }
      if (size > loaded.offset) {
        const tail = await readRange(handle, loaded.offset, size - loaded.offset);
        const complete = tail.lastIndexOf('\n');
        if (complete >= 0) {
          for (const line of tail.slice(0, complete).split('\n')) {
            if (line.length === 0) continue;
            const parsed = JSON.parse(line) as Line;
            loaded.changes.set(
              parsed.path,
              'deleted' in parsed ? null : { hash: parsed.hash, size: parsed.size },
            );
          }
          loaded.offset += Buffer.byteLength(tail.slice(0, complete + 1));
        }
      }
      loaded.size = size;
      this.#cache.set(branch, loaded);
      return loaded;
    } finally {
      await handle.close();
    }
  }
}

function toLine(path: string, change: StagedChange): Line {
  return change === null ? { path, deleted: true } : { path, hash: change.hash, size: change.size };
}

async function readRange(
  handle: Awaited<ReturnType<typeof open>>,
  position: number,
  length: number,
): Promise<string> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done).toString('utf8');
}
