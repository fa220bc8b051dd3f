import type { MergeStrategy } from '@vigil/core';
import type { Tree, TreeEntry } from '../objects/tree.js';

export interface MergeResult {
  tree: Map<string, TreeEntry>;
  /** Paths changed differently on both sides and left unresolved (no strategy), sorted. */
  conflicts: string[];
}

function same(a: TreeEntry | undefined, b: TreeEntry | undefined): boolean {
  return a?.hash === b?.hash;
}

/**
 * Three-way merge by path: a path changed on one side only takes that side; changed the
 * same way on both sides is fine; changed differently on both sides (a deletion is a change)
 * is a conflict, unless `strategy` picks a side for it: `source-wins` takes `theirs`
 * (the source), `dest-wins` takes `ours` (the branch merged into), deletions included.
 */
export function threeWayMerge(base: Tree, ours: Tree, theirs: Tree, strategy?: MergeStrategy): MergeResult {
  const tree = new Map<string, TreeEntry>();
  const conflicts: string[] = [];
  const paths = new Set<string>([...base.keys(), ...ours.keys(), ...theirs.keys()]);
  for (const path of paths) {
    const b = base.get(path);
    const o = ours.get(path);
    const t = theirs.get(path);
    let pick: TreeEntry | undefined;
    if (same(o, t)) pick = o;
    else if (same(b, o)) pick = t;
    else if (same(b, t)) pick = o;
    else if (strategy === 'source-wins') pick = t;
    else if (strategy === 'dest-wins') pick = o;
    else {
      conflicts.push(path);
      continue;
    }
    if (pick) tree.set(path, pick);
  }
  conflicts.sort(comparePaths);
  return { tree, conflicts };
}

/** Code-unit order, the order `list` and `diff` return paths in. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
