import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@vigil/core';

/**
 * Committed offsets of consumer groups, one JSON file per group under `dir`
 * (`{ "<topic>/<partition>": "<next offset>" }`), replaced atomically (write, then rename)
 * so a crash leaves the previous commit or the new one, never a torn file.
 */
export class CommittedOffsets {
  readonly #dir: string;
  readonly #groups = new Map<string, Map<string, string>>();
  #writes: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.#dir = dir;
  }

  #file(group: string): string {
    return join(this.#dir, `${encodeURIComponent(group)}.json`);
  }

  /** The group's commits, loaded from disk on first use. */
  async load(group: string): Promise<Map<string, string>> {
    let map = this.#groups.get(group);
    if (map) return map;
    map = new Map();
    try {
      const parsed = JSON.parse(await readFile(this.#file(group), 'utf8')) as Record<string, unknown>;
      for (const [key, offset] of Object.entries(parsed)) {
        if (typeof offset === 'string' && /^\d+$/.test(offset)) map.set(key, offset);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.#groups.set(group, map);
    return map;
  }

  get(group: string, key: string): string | undefined {
    return this.#groups.get(group)?.get(key);
  }

  /** Store commits and persist the group's file; resolves when it is on disk. */
  async commit(group: string, entries: readonly [string, string][]): Promise<void> {
    const map = await this.load(group);
    for (const [key, offset] of entries) map.set(key, offset);
    const snapshot = JSON.stringify(Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b))));
    const file = this.#file(group);
    const write = this.#writes.then(async () => {
      await mkdir(this.#dir, { recursive: true });
      await writeFileAtomic(file, snapshot, { sync: false });
    });
    this.#writes = write.catch(() => undefined);
    await write;
  }
}
