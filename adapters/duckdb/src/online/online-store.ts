import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ScalarValue, writeFileAtomic } from '@vigil/core';

/** The latest value of one entity in one view. */
export interface OnlineEntry {
  /** Event timestamp, epoch microseconds. */
  ts: number;
  /** Feature values in the view's feature order. */
  values: ScalarValue[];
}

/** A write the caller wants applied: skipped when not newer than what is stored. */
export interface OnlineWrite {
  key: string;
  ts: number;
  values: ScalarValue[];
}

type JournalLine = [key: string, ts: number, values: ScalarValue[]];

/**
 * Embedded online store: per view, an in-memory map from entity key to its latest
 * `{ts, values}`, made durable by an append-only journal per view (`<view>.jsonl`, one JSON
 * array per applied write). Reopening replays the journal; a journal much longer than its
 * map is compacted on open. Feast's rule holds: a row whose timestamp is ≤ the stored one
 * (or an earlier row of the same batch) is skipped.
 */
export class OnlineStore {
  readonly #dir: string;
  readonly #tables = new Map<string, Map<string, OnlineEntry>>();
  /** Serialises journal appends per view so lines land in apply order. */
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(dir: string, views: readonly string[]): Promise<OnlineStore> {
    await mkdir(dir, { recursive: true });
    const store = new OnlineStore(dir);
    for (const view of views) await store.#load(view);
    return store;
  }

  /** O(1) lookup; undefined when the entity was never written. */
  get(view: string, key: string): OnlineEntry | undefined {
    return this.#tables.get(view)?.get(key);
  }

  size(view: string): number {
    return this.#tables.get(view)?.size ?? 0;
  }

  /** Apply the writes that are newer than the stored values; returns how many were applied. */
  async write(view: string, writes: Iterable<OnlineWrite>): Promise<number> {
    const table = this.#table(view);
    const lines: string[] = [];
    for (const w of writes) {
      const stored = table.get(w.key);
      if (stored && w.ts <= stored.ts) continue;
      table.set(w.key, { ts: w.ts, values: w.values });
      lines.push(JSON.stringify([w.key, w.ts, w.values] satisfies JournalLine));
    }
    if (lines.length > 0)
      await this.#enqueue(view, () => appendFile(this.#file(view), `${lines.join('\n')}\n`));
    return lines.length;
  }

  /** Forget every value of a view (its definition changed). */
  async clear(view: string): Promise<void> {
    this.#tables.set(view, new Map());
    await this.#enqueue(view, () => rm(this.#file(view), { force: true }));
  }

  /** Wait for pending journal writes. */
  async flush(): Promise<void> {
    await Promise.all(this.#queues.values());
  }

  #table(view: string): Map<string, OnlineEntry> {
    let table = this.#tables.get(view);
    if (!table) {
      table = new Map();
      this.#tables.set(view, table);
    }
    return table;
  }

  #file(view: string): string {
    return join(this.#dir, `${view}.jsonl`);
  }

  #enqueue(view: string, task: () => Promise<unknown>): Promise<unknown> {
    const next = (this.#queues.get(view) ?? Promise.resolve()).then(task, task);
    this.#queues.set(view, next);
    return next;
  }

  async #load(view: string): Promise<void> {
    const table = this.#table(view);
    let text: string;
    try {
      text = await readFile(this.#file(view), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let lines = 0;
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      let parsed: JournalLine;
      try {
        parsed = JSON.parse(line) as JournalLine;
      } catch {
        // A torn last line from a crash mid-append: everything before it is intact.
        continue;
      }
      const [key, ts, values] = parsed;
      const stored = table.get(key);
      if (!stored || ts > stored.ts) table.set(key, { ts, values });
      lines++;
    }
    // A torn tail must be rewritten, or the next append would glue onto it.
    const torn = text.length > 0 && !text.endsWith('\n');
    if (torn || (lines > 1000 && lines > 2 * table.size)) await this.#compact(view, table);
  }

  async #compact(view: string, table: Map<string, OnlineEntry>): Promise<void> {
    const body = [...table].map(([key, e]) => JSON.stringify([key, e.ts, e.values] satisfies JournalLine));
    await writeFileAtomic(this.#file(view), body.length > 0 ? `${body.join('\n')}\n` : '', { sync: false });
  }
}
