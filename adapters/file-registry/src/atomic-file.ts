import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@vigil/core';

/**
 * Write a registry file so readers see either the old or the new content, never a torn
 * one, creating its folder. Without fsync: it survives a process crash, not a power loss.
 */
export async function writeRegistryFile(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, data, { sync: false });
}

export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeRegistryFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Parsed JSON of a file, or `undefined` when the file does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
