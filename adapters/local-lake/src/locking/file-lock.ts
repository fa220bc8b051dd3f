import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { VigilError } from '@vigil/core';
import { isErrnoCode } from '../files/errno-code.js';
import { runExclusive } from './keyed-queue.js';

/** Locks this process holds right now (by lock-file path). */
const held = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrnoCode(error, 'ESRCH');
  }
}

/** A lock file nobody holds any more: its pid is dead, or it is ours but not held, or it stayed empty. */
async function isStale(file: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return false;
    throw error;
  }
  const pid = Number.parseInt(text, 10);
  if (Number.isInteger(pid) && pid > 0) {
    if (pid === process.pid) return !held.has(file);
    return !processAlive(pid);
  }
  // Empty: a holder between open and write, or one that died there. Give it a few seconds.
  try {
    return Date.now() - (await stat(file)).mtimeMs > 5_000;
  } catch {
    return false;
  }
}

async function acquire(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      held.add(file);
      return;
    } catch (error) {
      if (!isErrnoCode(error, 'EEXIST')) throw error;
    }
    if (await isStale(file)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new VigilError(
        'VIGIL_LAKE_CONFLICT',
        `lock '${file}' is held by another process (waited ${timeoutMs} ms)`,
        {
          details: { lock: file },
        },
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * Run `work` holding the lock `file`: serialised in-process by a promise queue and across
 * processes by an exclusive lock file (`open(file, 'wx')` holding the pid). A lock left by a
 * killed process is detected by its pid and taken over.
 */
export function withFileLock<T>(file: string, work: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  return runExclusive(file, async () => {
    await acquire(file, timeoutMs);
    try {
      return await work();
    } finally {
      held.delete(file);
      await rm(file, { force: true });
    }
  });
}
