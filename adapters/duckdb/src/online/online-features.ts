import {
  type FeatureDtype,
  type FeatureRef,
  type FeatureView,
  type Logger,
  type OnlineMatrix,
  type OnlineRequest,
  type OnlineResult,
  type ScalarValue,
  VigilError,
} from '@vigil/core';
import { resolveFeatures } from '../views/resolve-features.js';
import type { ViewRegistry } from '../views/view-registry.js';
import type { OnlineBackend, OnlineRow } from './online-backend.js';

/** Epoch microseconds of a Date / ISO string / epoch-ms number, NaN when invalid. */
export function micros(value: unknown): number {
  if (value instanceof Date) return value.getTime() * 1000;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value).getTime() * 1000;
  return Number.NaN;
}

/** How to answer one feature list: the views to read and where each column comes from. */
interface ReadPlan {
  joinKeys: string[];
  views: { view: FeatureView; features: number[] }[];
  /** Per requested feature: its column, the read (index into `views`) and its position in that read. */
  columns: { column: string; read: number; j: number }[];
  featureNames: string[];
}

/**
 * The online half of a FeatureStore over a view registry and an {@link OnlineBackend}:
 * `apply` (clearing the online values of changed views), `push` with validation, and
 * `getOnlineFeatures`. The DuckDB store and the online-only Redis store share it.
 */
export class OnlineFeatures {
  readonly #registry: ViewRegistry;
  readonly #backend: OnlineBackend;
  /** Resolved feature lists of recent requests (serving repeats the same list). */
  readonly #plans = new Map<string, ReadPlan>();
  /**
   * The same plans by the identity of a frozen feature list (a caller that asks for the same
   * frozen list on every request skips building the text key): `[short names, full names]`.
   */
  #frozenPlans = new WeakMap<readonly FeatureRef[], [ReadPlan?, ReadPlan?]>();

  constructor(registry: ViewRegistry, backend: OnlineBackend) {
    this.#registry = registry;
    this.#backend = backend;
  }

  get registry(): ViewRegistry {
    return this.#registry;
  }

  get backend(): OnlineBackend {
    return this.#backend;
  }

  /** Register views; the stored online values of a changed view are cleared (they follow the old features). */
  async apply(views: FeatureView[], logger: Logger): Promise<void> {
    const previous = new Map(this.#registry.list().map((v) => [v.name, v]));
    this.#plans.clear();
    this.#frozenPlans = new WeakMap();
    const outcomes = await this.#registry.apply(views);
    for (const [name, outcome] of outcomes) {
      const old = previous.get(name);
      if (outcome === 'updated' && old) await this.#backend.clearView(old);
    }
    const changed = [...outcomes].filter(([, o]) => o !== 'unchanged').map(([n, o]) => `${n}:${o}`);
    if (changed.length > 0) logger.info({ views: changed }, 'feature views applied');
  }

  /** Rows of a materialisation, already typed: stored when newer. */
  write(view: FeatureView, rows: readonly OnlineRow[]): Promise<number> {
    return this.#backend.write(view, rows);
  }

  async push(viewName: string, rows: Record<string, ScalarValue | Date>[]): Promise<{ rowsWritten: number }> {
    const view = this.#registry.require(viewName);
    if (!Array.isArray(rows)) {
      throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `push to '${viewName}': rows must be an array`);
    }
    const tsField = view.source.timestampField;
    const online = rows.map((row, r): OnlineRow => {
      const entity = view.entities.map((k) => {
        const v = row[k];
        if (v === null || v === undefined) {
          throw new VigilError(
            'VIGIL_FEATURE_INVALID_REQUEST',
            `push to '${viewName}': rows[${r}] lacks join key '${k}'`,
          );
        }
        return v;
      });
      const ts = micros(row[tsField]);
      if (!Number.isFinite(ts)) {
        throw new VigilError(
          'VIGIL_FEATURE_INVALID_REQUEST',
          `push to '${viewName}': rows[${r}].${tsField} must be a valid timestamp`,
        );
      }
      const values = view.features.map((f) => pushValue(viewName, r, f.name, f.dtype, row[f.name]));
      return { entity, ts, values };
    });
    return { rowsWritten: await this.#backend.write(view, online) };
  }

  async get(request: OnlineRequest): Promise<OnlineResult> {
    const plan = this.#plan(request.features, request.fullFeatureNames ?? true);
    const { joinKeys } = plan;
    const entityRows = checkEntityRows(request.entityRows, joinKeys);
    const rows = entityRows.map((entityRow) => {
      const out: Record<string, ScalarValue> = {};
      for (const k of joinKeys) out[k] = entityRow[k]!;
      return out;
    });
    // One batched read per view (or one for all views, where the backend can); then fill the
    // columns in request order.
    const reads = await this.#read(plan, entityRows);
    // One Date per entity and view: every feature of a view shares the view's stored time.
    const stamps = reads.map((entries) =>
      entries.map((entry) => (entry ? new Date(Math.floor(entry.ts / 1000)) : null)),
    );
    const eventTimestamps = rows.map(() => ({}) as Record<string, Date | null>);
    for (const { column, read, j } of plan.columns) {
      const entries = reads[read]!;
      const times = stamps[read]!;
      for (let i = 0; i < rows.length; i++) {
        const entry = entries[i];
        rows[i]![column] = entry?.values[j] ?? null;
        eventTimestamps[i]![column] = times[i]!;
      }
    }
    return { featureNames: plan.featureNames.slice(), rows, eventTimestamps };
  }

  /** The read of `get`, dense (see `OnlineMatrix`): the same plan, checks and backend reads. */
  async matrix(request: OnlineRequest): Promise<OnlineMatrix> {
    const plan = this.#plan(request.features, request.fullFeatureNames ?? true);
    const entityRows = checkEntityRows(request.entityRows, plan.joinKeys);
    const reads = await this.#read(plan, entityRows);
    const n = entityRows.length;
    const d = plan.columns.length;
    const v = plan.views.length;
    const x = new Float32Array(n * d);
    const eventTimes = new Float64Array(n * v);
    for (let r = 0; r < v; r++) {
      const entries = reads[r]!;
      for (let i = 0; i < n; i++) {
        const entry = entries[i];
        eventTimes[i * v + r] = entry ? Math.floor(entry.ts / 1000) : Number.NaN;
      }
    }
    for (let c = 0; c < d; c++) {
      const { read, j } = plan.columns[c]!;
      const entries = reads[read]!;
      for (let i = 0; i < n; i++) {
        const value = entries[i]?.values[j];
        x[i * d + c] = value === null || value === undefined ? Number.NaN : Number(value);
      }
    }
    return {
      features: plan.columns.map((c) => c.column),
      x,
      views: plan.views.map((r) => r.view.name),
      eventTimes,
    };
  }

  /** Each view's entries for the entity rows, in `plan.views` order. */
  async #read(plan: ReadPlan, entityRows: readonly Record<string, unknown>[]) {
    const backend = this.#backend;
    if (backend.readViews) return backend.readViews(plan.views, entityRows);
    const read = ({ view, features }: ReadPlan['views'][number]) =>
      backend.read(
        view,
        entityRows.map((row) => view.entities.map((k) => row[k])),
        features,
      );
    return plan.views.length === 1 ? [await read(plan.views[0]!)] : Promise.all(plan.views.map(read));
  }

  /** The resolved features of a request, grouped by view; cached per feature list until the next apply. */
  #plan(features: readonly FeatureRef[], fullNames: boolean): ReadPlan {
    const frozen = Array.isArray(features) && Object.isFrozen(features);
    if (frozen) {
      const slot = this.#frozenPlans.get(features)?.[fullNames ? 1 : 0];
      if (slot) return slot;
    }
    const plan = this.#textPlan(features, fullNames);
    if (frozen) {
      const slots = this.#frozenPlans.get(features) ?? [];
      slots[fullNames ? 1 : 0] = plan;
      this.#frozenPlans.set(features, slots);
    }
    return plan;
  }

  #textPlan(features: readonly FeatureRef[], fullNames: boolean): ReadPlan {
    const cacheKey = Array.isArray(features) ? `${fullNames ? 1 : 0}\n${features.join('\n')}` : undefined;
    const cached = cacheKey === undefined ? undefined : this.#plans.get(cacheKey);
    if (cached) return cached;
    const wanted = resolveFeatures(this.#registry, features, fullNames);
    const views = [...new Set(wanted.map((w) => w.view))];
    const plan: ReadPlan = {
      joinKeys: [...new Set(views.flatMap((v) => v.entities))],
      views: views.map((view) => ({
        view,
        features: wanted.filter((w) => w.view === view).map((w) => w.index),
      })),
      columns: wanted.map((w) => {
        const read = views.indexOf(w.view);
        return { column: w.column, read, j: wanted.filter((x) => x.view === w.view).indexOf(w) };
      }),
      featureNames: [],
    };
    plan.featureNames = [...plan.joinKeys, ...wanted.map((w) => w.column)];
    if (cacheKey !== undefined) {
      if (this.#plans.size >= 256) this.#plans.clear();
      this.#plans.set(cacheKey, plan);
    }
    return plan;
  }

  close(): Promise<void> {
    return this.#backend.close();
  }
}

/** The entity rows of an online read, each with every join key. */
function checkEntityRows(
  entityRows: unknown,
  joinKeys: readonly string[],
): readonly Record<string, ScalarValue>[] {
  if (!Array.isArray(entityRows)) {
    throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', 'getOnlineFeatures: entityRows must be an array');
  }
  entityRows.forEach((entityRow: Record<string, ScalarValue>, r) => {
    for (const k of joinKeys) {
      if (entityRow[k] === undefined) {
        throw new VigilError(
          'VIGIL_FEATURE_INVALID_REQUEST',
          `getOnlineFeatures: entityRows[${r}] lacks join key '${k}'`,
        );
      }
    }
  });
  return entityRows;
}

/** Check a pushed value against its dtype; timestamps are stored as ISO strings. */
function pushValue(
  view: string,
  row: number,
  name: string,
  dtype: FeatureDtype,
  value: unknown,
): ScalarValue {
  if (value === null || value === undefined) return null;
  const ok = (() => {
    switch (dtype) {
      case 'float64':
      case 'float32':
        return typeof value === 'number';
      case 'int64':
      case 'int32':
        return typeof value === 'number' && Number.isInteger(value);
      case 'string':
        return typeof value === 'string';
      case 'bool':
        return typeof value === 'boolean';
      case 'timestamp':
        return Number.isFinite(micros(value));
    }
  })();
  if (!ok) {
    throw new VigilError(
      'VIGIL_FEATURE_INVALID_REQUEST',
      `push to '${view}': rows[${row}].${name} is not a valid ${dtype} (got ${typeof value})`,
    );
  }
  if (dtype === 'timestamp') return new Date(micros(value) / 1000).toISOString();
  return value as ScalarValue;
}
