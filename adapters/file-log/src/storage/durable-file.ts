/** Crash-safe file operations: atomic replace and directory fsync. */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsync a directory so a file created, renamed or removed in it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

let tmpSequence = 0;

/**
 * Replace `path` with `data` atomically: write a temporary file beside it, fsync it,
 * rename it over `path`, fsync the directory. A reader sees the old or the new content,
 * never a mix, even after a crash.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  tmpSequence += 1;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${tmpSequence}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}
