import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '@vigil/core';
import { isErrnoCode } from '../files/errno-code.js';
import { branchFileName, branchFromFileName } from './branch-name.js';

/** Branch heads: `refs/heads/<branch>` files holding a commit id, replaced atomically. */
export class RefStore {
  readonly #dir: string;
  readonly #tmpDir: string;

  constructor(dir: string, tmpDir: string) {
    this.#dir = dir;
    this.#tmpDir = tmpDir;
  }

  #file(branch: string): string {
    return join(this.#dir, branchFileName(branch));
  }

  /** The branch's head commit id, or null when the branch does not exist. */
  async read(branch: string): Promise<string | null> {
    try {
      const text = (await readFile(this.#file(branch), 'utf8')).trim();
      return text.length > 0 ? text : null;
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return null;
      throw error;
    }
  }

  /** Move the branch to `commitId`: tmp + fsync + rename + fsync of the directory. */
  async write(branch: string, commitId: string): Promise<void> {
    await writeFileAtomic(this.#file(branch), `${commitId}\n`, { tmpDir: this.#tmpDir, sync: true });
  }

  async remove(branch: string): Promise<void> {
    await rm(this.#file(branch), { force: true });
    await syncDirectory(this.#dir);
  }

  async list(): Promise<string[]> {
    const files = await readdir(this.#dir);
    return files.map(branchFromFileName).sort();
  }
}
