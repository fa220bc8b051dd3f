import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLockFile } from './lock-file.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-lock-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withLockFile', () => {
  it('runs callers one at a time and removes the lock afterwards', async () => {
    const lock = join(dir, '.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        withLockFile(lock, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((resolve) => setTimeout(resolve, 3));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const lock = join(dir, '.lock');
    // pid 2^22 + 1 is above Linux's pid_max, so no such process exists
    await writeFile(lock, JSON.stringify({ pid: 4_194_305, host: hostname(), at: Date.now(), token: 'x' }));
    expect(await withLockFile(lock, async () => 'ran', { timeoutMs: 2_000 })).toBe('ran');
    expect(await readdir(dir)).toEqual([]);
  });

  it('waits for a live holder and gives up after the timeout, naming the lock', async () => {
    const lock = join(dir, '.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), at: Date.now(), token: 'x' }));
    await expect(withLockFile(lock, async () => 'ran', { timeoutMs: 100 })).rejects.toThrow(lock);
  });

  it('takes over a lock older than staleMs', async () => {
    const lock = join(dir, '.lock');
    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, host: hostname(), at: Date.now() - 60_000, token: 'x' }),
    );
    expect(await withLockFile(lock, async () => 'ran', { staleMs: 1_000, timeoutMs: 2_000 })).toBe('ran');
  });
});
