import { VigilError } from '@vigil/core';
import { canonicalJson } from './canonical-json.js';
import type { ObjectStore } from './object-store.js';

/** One object in a tree: its content hash and size. */
export interface TreeEntry {
  hash: string;
  size: number;
}

/** A snapshot of the lake: path → object. */
export type Tree = ReadonlyMap<string, TreeEntry>;

/**
 * Trees are stored as objects: canonical JSON `{path: {hash, size}}`. Parsed trees are
 * immutable, so a few recent ones are cached by hash.
 */
export class TreeStore {
  readonly #objects: ObjectStore;
  readonly #cache = new Map<string, Tree>();
  readonly #capacity: number;

  constructor(objects: ObjectStore, capacity = 16) {
    this.#objects = objects;
    this.#capacity = capacity;
  }

  async read(hash: string): Promise<Tree> {
    const cached = this.#cache.get(hash);
    if (cached) {
      this.#cache.delete(hash);
      this.#cache.set(hash, cached);
      return cached;
    }
    const bytes = await this.#objects.read(hash);
    if (bytes === null)
      throw new VigilError('VIGIL_LAKE_NOT_FOUND', `tree object '${hash}' is missing from the lake`);
    const record = JSON.parse(bytes.toString('utf8')) as Record<string, TreeEntry>;
    const tree: Tree = new Map(Object.entries(record));
    this.#remember(hash, tree);
    return tree;
  }

  /** Store a tree durably; returns its hash. */
  async write(tree: Tree): Promise<string> {
    const { hash } = await this.#objects.write(canonicalJson(Object.fromEntries(tree)), { sync: true });
    this.#remember(hash, tree);
    return hash;
  }

  #remember(hash: string, tree: Tree): void {
    this.#cache.set(hash, tree);
    while (this.#cache.size > this.#capacity) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
