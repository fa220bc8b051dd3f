/**
 * Crash-safe file replacement for adapters that keep state in files.
 *
 * Not `write-file-atomic` (npm): it does not fsync the directory after the rename, so a
 * power loss can forget the new name; it always writes the temporary file beside the
 * target, where a folder listed as data (a lake's branch refs) would show it; and it goes
 * through the callback `fs` API, past the `node:fs/promises` fault points the lake's crash
 * tests put on `open` and `rename`.
 */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /**
   * Folder of the temporary file; it must be on the target's file system. Default: the
   * target's own folder (the temporary name starts with '.').
   */
  tmpDir?: string;
  /**
   * fsync the file before the rename and the target's folder after it, so the new content
   * survives a power loss, not only a process crash. Default true.
   */
  sync?: boolean;
}

let sequence = 0;

/** fsync a folder so a file created, renamed or removed in it survives a power loss. */
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
 * Replace `path` with `data` atomically: write a temporary file (named after the target,
 * this process's pid and a counter, so concurrent writers never share one), optionally
 * fsync it, rename it over `path`, then fsync the folder. Readers see the old content or
 * the new, never a torn file, even after a crash. The temporary file is removed when the
 * write fails; the target's folder must exist.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const sync = options.sync ?? true;
  sequence += 1;
  const tmp = join(options.tmpDir ?? dirname(path), `.${basename(path)}.${process.pid}.${sequence}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    if (sync) await handle.sync();
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
  if (sync) await syncDirectory(dirname(path));
}
