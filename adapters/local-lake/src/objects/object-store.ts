import { createHash } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory, syncFile, writeFileAtomic } from '@vigil/core';
import { isErrnoCode } from '../files/errno-code.js';
import { canonicalJson } from './canonical-json.js';

export interface StoredObject {
  /** sha256 hex of the bytes. */
  hash: string;
  size: number;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Immutable content-addressed object files `objects/<hash[0:2]>/<hash>`, like git's loose
 * objects. Identical content is stored once; a file that exists is complete (it appeared
 * by rename).
 */
export class ObjectStore {
  readonly #root: string;
  readonly #tmpDir: string;

  constructor(root: string, tmpDir: string) {
    this.#root = root;
    this.#tmpDir = tmpDir;
  }

  pathOf(hash: string): string {
    return join(this.#root, hash.slice(0, 2), hash);
  }

  /** Directory holding the objects whose hash starts with `twoHex`. */
  fanoutDir(twoHex: string): string {
    return join(this.#root, twoHex);
  }

  async has(hash: string): Promise<boolean> {
    try {
      await access(this.pathOf(hash));
      return true;
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /** Store bytes; `sync` makes the object durable before returning. */
  async write(data: Uint8Array | string, options: { sync?: boolean } = {}): Promise<StoredObject> {
    const hash = sha256(data);
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    const target = this.pathOf(hash);
    if (await this.has(hash)) {
      if (options.sync) await this.sync([hash]);
      return { hash, size };
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFileAtomic(target, data, { tmpDir: this.#tmpDir, sync: options.sync ?? false });
    return { hash, size };
  }

  async writeJson(value: unknown, options: { sync?: boolean } = {}): Promise<StoredObject> {
    return this.write(canonicalJson(value), options);
  }

  /** The object's bytes, or null when no object has that hash. */
  async read(hash: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(hash));
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return null;
      throw error;
    }
  }

  /** fsync the objects and their fan-out directories, a few at a time. */
  async sync(hashes: Iterable<string>, concurrency = 16): Promise<void> {
    const pending = [...new Set(hashes)];
    const dirs = new Set(pending.map((hash) => hash.slice(0, 2)));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pending.length) {
        const hash = pending[next++]!;
        await syncFile(this.pathOf(hash));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
    for (const dir of dirs) await syncDirectory(this.fanoutDir(dir));
  }
}
