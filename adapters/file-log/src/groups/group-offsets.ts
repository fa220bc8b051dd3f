/**
 * Committed offsets of one consumer group: `<root>/groups/<group>.json`, replaced
 * atomically on every commit, so a crash leaves the previous or the new commit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@vigil/core';

interface GroupFile {
  version: 1;
  group: string;
  /** topic → partition → next offset to read (decimal string). */
  offsets: Record<string, Record<string, string>>;
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** File name for a group id: letters, digits, `_` and `-` kept, every other byte `%XX`. */
export function groupFileName(group: string): string {
  const encoded = [...Buffer.from(group, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return `${encoded}.json`;
}

export class GroupOffsets {
  readonly group: string;
  readonly #path: string;
  #offsets: Map<string, Map<number, number>>;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(group: string, path: string, offsets: Map<string, Map<number, number>>) {
    this.group = group;
    this.#path = path;
    this.#offsets = offsets;
  }

  static async load(root: string, group: string): Promise<GroupOffsets> {
    const path = join(root, 'groups', groupFileName(group));
    const offsets = new Map<string, Map<number, number>>();
    try {
      const file = JSON.parse(await readFile(path, 'utf8')) as GroupFile;
      for (const [topic, partitions] of Object.entries(file.offsets)) {
        offsets.set(topic, new Map(Object.entries(partitions).map(([p, o]) => [Number(p), Number(o)])));
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return new GroupOffsets(group, path, offsets);
  }

  /** Committed next offset of a partition, if any. */
  get(topic: string, partition: number): number | undefined {
    return this.#offsets.get(topic)?.get(partition);
  }

  /** Record commits durably; commits run in call order and become visible once written. */
  commit(entries: readonly PartitionOffset[]): Promise<void> {
    const run = this.#chain.then(() => this.#commit(entries));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #commit(entries: readonly PartitionOffset[]): Promise<void> {
    const next = new Map([...this.#offsets].map(([t, m]) => [t, new Map(m)]));
    for (const { topic, partition, offset } of entries) {
      const partitions = next.get(topic) ?? new Map<number, number>();
      partitions.set(partition, offset);
      next.set(topic, partitions);
    }
    const file: GroupFile = { version: 1, group: this.group, offsets: {} };
    for (const [topic, partitions] of [...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      file.offsets[topic] = Object.fromEntries(
        [...partitions].sort(([a], [b]) => a - b).map(([p, o]) => [String(p), String(o)]),
      );
    }
    await writeFileAtomic(this.#path, `${JSON.stringify(file, null, 2)}\n`);
    this.#offsets = next;
  }

  /** Wait for commits already queued. */
  async flushed(): Promise<void> {
    await this.#chain;
  }
}
