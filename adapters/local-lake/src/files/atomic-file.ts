import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A temporary file name unique within this machine (pid + counter), in `tmpDir`. */
export function temporaryPath(tmpDir: string, target: string): string {
  counter += 1;
  return join(tmpDir, `${basename(target)}.${process.pid}.${counter}.tmp`);
}

/** fsync a directory so a rename inside it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a file's data and metadata. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replace `target` atomically: write a temporary file in `tmpDir` (same file system),
 * optionally fsync it, rename it over the target, then fsync the target's directory.
 * Readers see the old content or the new, never a torn file.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  options: { tmpDir: string; sync: boolean },
): Promise<void> {
  const tmp = temporaryPath(options.tmpDir, target);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    if (options.sync) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  if (options.sync) await syncDirectory(dirname(target));
}

export function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
