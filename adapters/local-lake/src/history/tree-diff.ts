import type { DiffEntry } from '@vigil/core';
import type { Tree } from '../objects/tree.js';
import { comparePaths } from './three-way-merge.js';

/** Paths added, removed or changed from `from` to `to`, sorted by path. */
export function diffTrees(from: Tree, to: Tree): DiffEntry[] {
  const out: DiffEntry[] = [];
  for (const [path, entry] of from) {
    const other = to.get(path);
    if (!other) out.push({ path, type: 'removed' });
    else if (other.hash !== entry.hash) out.push({ path, type: 'changed' });
  }
  for (const path of to.keys()) if (!from.has(path)) out.push({ path, type: 'added' });
  return out.sort((a, b) => comparePaths(a.path, b.path));
}
