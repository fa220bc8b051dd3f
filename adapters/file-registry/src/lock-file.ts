import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockFileOptions {
  /** A lock older than this, or whose holder process is gone, is taken over. Default 30 000 ms. */
  staleMs?: number;
  /** Give up waiting after this long. Default 10 000 ms. */
  timeoutMs?: number;
}

interface Holder {
  pid: number;
  host: string;
  at: number;
  token: string;
}

let tokens = 0;

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/** Raw content of the lock when its holder is gone or it is too old; otherwise undefined. */
async function staleContent(path: string, staleMs: number): Promise<string | undefined> {
  let raw: string;
  let modified: number;
  try {
    [raw, modified] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  let holder: Holder | undefined;
  try {
    holder = JSON.parse(raw) as Holder;
  } catch {
    // Created but not yet written by its holder: judge by age alone.
  }
  const age = Date.now() - (holder?.at ?? modified);
  if (age > staleMs) return raw;
  if (holder && holder.host === hostname() && !processAlive(holder.pid)) return raw;
  return undefined;
}

/** Move a stale lock aside; if it changed hands meanwhile, put the live one back. */
async function takeOver(path: string, judged: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${++tokens}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  try {
    if ((await readFile(aside, 'utf8')) !== judged) await link(aside, path).catch(() => undefined);
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/**
 * Run `work` while holding an exclusive lock file (created with O_EXCL), so that
 * processes sharing a directory take turns. A lock left by a dead process (same host)
 * or older than `staleMs` is taken over.
 */
export async function withLockFile<T>(
  path: string,
  work: () => Promise<T>,
  options: LockFileOptions = {},
): Promise<T> {
  const staleMs = options.staleMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const token = `${process.pid}-${Date.now()}-${++tokens}`;
  const started = Date.now();
  let content: string;
  let delay = 1;
  for (;;) {
    const holder: Holder = { pid: process.pid, host: hostname(), at: Date.now(), token };
    content = JSON.stringify(holder);
    try {
      await writeFile(path, content, { flag: 'wx' });
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const stale = await staleContent(path, staleMs);
    if (stale !== undefined) {
      await takeOver(path, stale);
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`lock file ${path} is still held after ${timeoutMs} ms`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  try {
    return await work();
  } finally {
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === content) await unlink(path).catch(() => undefined);
  }
}
