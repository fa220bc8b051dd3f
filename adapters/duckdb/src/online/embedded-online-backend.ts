import type { FeatureView, ScalarValue } from '@vigil/core';
import { entityKey } from './entity-key.js';
import type { OnlineBackend, OnlineEntry, OnlineRow } from './online-backend.js';
import { OnlineStore } from './online-store.js';

/**
 * The default online backend: the in-process {@link OnlineStore} (a map per view made
 * durable by an append-only journal), keyed by the canonical text of the join-key values.
 */
export class EmbeddedOnlineBackend implements OnlineBackend {
  readonly #store: OnlineStore;

  private constructor(store: OnlineStore) {
    this.#store = store;
  }

  /** Open the journals under `dir`, replaying those of the given views. */
  static async open(dir: string, views: readonly string[]): Promise<EmbeddedOnlineBackend> {
    return new EmbeddedOnlineBackend(await OnlineStore.open(dir, views));
  }

  write(view: FeatureView, rows: readonly OnlineRow[]): Promise<number> {
    return this.#store.write(
      view.name,
      rows.map((r) => ({ key: entityKey(r.entity), ts: r.ts, values: r.values as ScalarValue[] })),
    );
  }

  async read(
    view: FeatureView,
    entities: readonly (readonly unknown[])[],
    features: readonly number[],
  ): Promise<(OnlineEntry | null)[]> {
    return entities.map((entity) => {
      const entry = this.#store.get(view.name, entityKey(entity));
      return entry ? { ts: entry.ts, values: features.map((i) => entry.values[i] ?? null) } : null;
    });
  }

  clearView(previous: FeatureView): Promise<void> {
    return this.#store.clear(previous.name);
  }

  close(): Promise<void> {
    return this.#store.flush();
  }
}
