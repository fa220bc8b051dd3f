import { OnlineFeatures, ViewRegistry } from '@vigil/adapter-duckdb';
import {
  type ComponentContext,
  type FeatureStore,
  type FeatureStoreCapabilities,
  type FeatureView,
  type HistoricalRequest,
  type HistoricalResult,
  type MaterializeRequest,
  type OnlineMatrix,
  type OnlineRequest,
  type OnlineResult,
  type ScalarValue,
  VigilError,
} from '@vigil/core';
import { RedisOnlineStore, type RedisOnlineStoreOptions } from './online/redis-online-store.js';

export interface RedisFeatureStoreOptions extends RedisOnlineStoreOptions {
  /** Absolute folder of the view registry (`registry.json`). */
  dir: string;
}

const capabilities: FeatureStoreCapabilities = {
  offline: false,
  online: true,
  streamingPush: true,
  onlineMatrix: true,
};

/**
 * Online-only FeatureStore over Redis in Feast's encoding: views registered in a local
 * registry, `push` and `getOnlineFeatures` against Redis. It has no offline side:
 * materialisation is done by a store that has one (the DuckDB store with
 * `online: { type: 'redis' }`, or Feast itself) writing to the same Redis and project.
 */
export class RedisFeatureStore implements FeatureStore {
  readonly capabilities = capabilities;
  readonly #online: OnlineFeatures;
  readonly #store: RedisOnlineStore;
  readonly #ctx: ComponentContext;
  #closed = false;

  private constructor(online: OnlineFeatures, store: RedisOnlineStore, ctx: ComponentContext) {
    this.#online = online;
    this.#store = store;
    this.#ctx = ctx;
  }

  static async open(options: RedisFeatureStoreOptions, ctx: ComponentContext): Promise<RedisFeatureStore> {
    const registry = await ViewRegistry.open(options.dir);
    const store = await RedisOnlineStore.connect(options);
    return new RedisFeatureStore(new OnlineFeatures(registry, store), store, ctx);
  }

  /** The Redis backend (its client, keys and fields), for tools and tests. */
  get redis(): RedisOnlineStore {
    return this.#store;
  }

  async apply(views: FeatureView[]): Promise<void> {
    this.#assertOpen();
    await this.#online.apply(views, this.#ctx.logger);
  }

  async listViews(): Promise<FeatureView[]> {
    this.#assertOpen();
    return this.#online.registry.list();
  }

  async getHistoricalFeatures(_request: HistoricalRequest): Promise<HistoricalResult> {
    throw new VigilError(
      'VIGIL_FEATURE_UNSUPPORTED',
      'getHistoricalFeatures: the redis feature store is online-only (capability offline: false); use the duckdb feature store',
    );
  }

  async materialize(_request: MaterializeRequest): Promise<{ rowsWritten: number }> {
    throw new VigilError(
      'VIGIL_FEATURE_UNSUPPORTED',
      "materialize: the redis feature store is online-only (capability offline: false); materialize with the duckdb feature store configured with online: { type: 'redis' } and the same url and project",
    );
  }

  async push(view: string, rows: Record<string, ScalarValue | Date>[]): Promise<{ rowsWritten: number }> {
    this.#assertOpen();
    return this.#online.push(view, rows);
  }

  async getOnlineFeatures(request: OnlineRequest): Promise<OnlineResult> {
    this.#assertOpen();
    return this.#online.get(request);
  }

  async getOnlineMatrix(request: OnlineRequest): Promise<OnlineMatrix> {
    this.#assertOpen();
    return this.#online.matrix(request);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#online.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'redis feature store is closed');
  }
}
