import type { DiffEntry } from '@vigil/core';
import type { ManifestEntry } from './commit-marker.js';

/** Paths that differ between two manifests (compared by ETag), sorted by path. */
export function diffManifests(from: readonly ManifestEntry[], to: readonly ManifestEntry[]): DiffEntry[] {
  const before = new Map(from.map((e) => [e.path, e.etag]));
  const after = new Map(to.map((e) => [e.path, e.etag]));
  const out: DiffEntry[] = [];
  for (const [path, etag] of after) {
    const old = before.get(path);
    if (old === undefined) out.push({ path, type: 'added' });
    else if (old !== etag) out.push({ path, type: 'changed' });
  }
  for (const path of before.keys()) if (!after.has(path)) out.push({ path, type: 'removed' });
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

/** Byte-wise order of UTF-16 strings, the order every list of the lake uses. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
