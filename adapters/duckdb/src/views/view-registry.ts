import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FeatureView, VigilError, writeFileAtomic } from '@vigil/core';
import { assertValidViews, canonicalJson } from './validate-view.js';

interface RegistryEntry {
  view: FeatureView;
  /** ISO-8601 end of the last materialisation of this view definition. */
  materializedUntil?: string;
}

interface RegistryFile {
  format: 1;
  views: Record<string, RegistryEntry>;
}

/** The outcome of `apply` for one view. */
export type ApplyOutcome = 'unchanged' | 'created' | 'updated';

/**
 * Registered feature views and their materialisation watermarks, persisted as
 * `registry.json` (written to a temporary file, then renamed: readers never see half a file).
 */
export class ViewRegistry {
  readonly #file: string;
  #entries: Map<string, RegistryEntry>;

  private constructor(file: string, entries: Map<string, RegistryEntry>) {
    this.#file = file;
    this.#entries = entries;
  }

  static async open(dir: string): Promise<ViewRegistry> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'registry.json');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const entries = new Map<string, RegistryEntry>();
    if (text !== undefined) {
      let parsed: RegistryFile;
      try {
        parsed = JSON.parse(text) as RegistryFile;
      } catch (error) {
        throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `feature registry ${file} is not valid JSON`, {
          cause: error,
        });
      }
      for (const [name, entry] of Object.entries(parsed.views ?? {})) entries.set(name, entry);
    }
    return new ViewRegistry(file, entries);
  }

  get(name: string): FeatureView | undefined {
    return this.#entries.get(name)?.view;
  }

  /** The view, or `VIGIL_FEATURE_UNKNOWN_VIEW` naming it. */
  require(name: string): FeatureView {
    const view = this.get(name);
    if (!view) {
      const known = [...this.#entries.keys()].sort().join(', ') || 'none';
      throw new VigilError(
        'VIGIL_FEATURE_UNKNOWN_VIEW',
        `unknown feature view '${name}' (registered: ${known})`,
      );
    }
    return view;
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  list(): FeatureView[] {
    return [...this.#entries.values()].map((e) => structuredClone(e.view));
  }

  materializedUntil(name: string): Date | undefined {
    const until = this.#entries.get(name)?.materializedUntil;
    return until === undefined ? undefined : new Date(until);
  }

  /**
   * Validate all views, then register them at once. An identical definition is a no-op;
   * a changed one must carry a higher version. Nothing is written when any view fails.
   */
  async apply(views: readonly FeatureView[]): Promise<Map<string, ApplyOutcome>> {
    assertValidViews(views);
    const outcomes = new Map<string, ApplyOutcome>();
    for (const view of views) {
      const old = this.#entries.get(view.name)?.view;
      if (!old) outcomes.set(view.name, 'created');
      else if (canonicalJson(old) === canonicalJson(view)) outcomes.set(view.name, 'unchanged');
      else if (view.version > old.version) outcomes.set(view.name, 'updated');
      else {
        throw new VigilError(
          'VIGIL_FEATURE_INVALID_REQUEST',
          `apply: view '${view.name}' changed but its version ${view.version} is not higher than the registered version ${old.version}`,
        );
      }
    }
    if ([...outcomes.values()].every((o) => o === 'unchanged')) return outcomes;
    const next = new Map(this.#entries);
    for (const view of views) {
      if (outcomes.get(view.name) !== 'unchanged') next.set(view.name, { view: structuredClone(view) });
    }
    await this.#save(next);
    return outcomes;
  }

  async setMaterializedUntil(updates: ReadonlyMap<string, Date>): Promise<void> {
    const next = new Map(this.#entries);
    for (const [name, until] of updates) {
      const entry = next.get(name);
      if (entry) next.set(name, { ...entry, materializedUntil: until.toISOString() });
    }
    await this.#save(next);
  }

  async #save(entries: Map<string, RegistryEntry>): Promise<void> {
    const body: RegistryFile = { format: 1, views: Object.fromEntries(entries) };
    await writeFileAtomic(this.#file, `${JSON.stringify(body, null, 2)}\n`, { sync: false });
    this.#entries = entries;
  }
}
