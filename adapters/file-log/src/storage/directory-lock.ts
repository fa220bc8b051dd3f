/**
 * The embedded log is single-process: one Source instance at a time owns a directory.
 * `<dir>/LOCK` holds the owner's pid; a lock left by a process that no longer runs (a
 * crash, SIGKILL) is taken over.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VigilError } from '@vigil/core';

const heldInThisProcess = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DirectoryLock {
  readonly #dir: string;
  #released = false;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async acquire(dir: string): Promise<DirectoryLock> {
    const key = resolve(dir);
    if (heldInThisProcess.has(key)) {
      throw new VigilError(
        'VIGIL_COMPONENT_FAILED',
        `file-log: dir ${key} is already open in this process; close the other source first`,
      );
    }
    const path = join(key, 'LOCK');
    heldInThisProcess.add(key);
    try {
      try {
        await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
        if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
          throw new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `file-log: dir ${key} is in use by process ${owner}; the embedded log is single-process`,
          );
        }
        await writeFile(path, `${process.pid}\n`);
      }
    } catch (error) {
      heldInThisProcess.delete(key);
      throw error;
    }
    return new DirectoryLock(key);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await rm(join(this.#dir, 'LOCK'), { force: true });
    heldInThisProcess.delete(this.#dir);
  }
}
