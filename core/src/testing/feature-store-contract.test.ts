/**
 * The FeatureStore contract must catch broken stores. A small in-memory store written
 * straight from INTEROP §2 passes every case; each injected bug makes the case aimed at it fail.
 */
import { describe, expect, it } from 'vitest';
import type { FeatureView, ScalarValue } from '../domain/feature.js';
import { VigilError } from '../errors.js';
import type {
  FeatureStore,
  HistoricalRequest,
  HistoricalResult,
  MaterializeRequest,
  OnlineMatrix,
  OnlineRequest,
  OnlineResult,
} from '../ports/feature-store.js';
import { defaultFeatureStoreCapabilities } from '../ports/feature-store.js';
import { checkContract } from './contract.js';
import { type FeatureStoreFixture, featureStoreContract } from './feature-store-contract.js';

type Bug =
  | 'none'
  | 'strict-before'
  | 'ignore-ttl'
  | 'first-created-wins'
  | 'ignore-ref'
  | 'push-overwrites'
  | 'no-version-rule'
  | 'matrix-times';
type Row = Record<string, unknown>;

const DTYPES = new Set(['float64', 'float32', 'int64', 'int32', 'string', 'bool', 'timestamp']);

/** Lake-like history for the in-memory store: each seed is a commit holding every row so far. */
class MemoryLake {
  commits: { id: string; rows: Map<string, Row[]> }[] = [{ id: 'c0', rows: new Map() }];
  add(path: string, rows: Row[]): string {
    const head = this.commits.at(-1)!;
    const next = new Map(head.rows);
    next.set(path, [...(next.get(path) ?? []), ...rows]);
    const id = `c${this.commits.length}`;
    this.commits.push({ id, rows: next });
    return id;
  }
  at(ref: string | undefined): { id: string; rows: Map<string, Row[]> } {
    if (ref === undefined || ref === 'main') return this.commits.at(-1)!;
    const commit = this.commits.find((c) => c.id === ref);
    if (!commit) throw new Error(`unknown ref ${ref}`);
    return commit;
  }
}

class MemoryFeatureStore implements FeatureStore {
  readonly capabilities = { ...defaultFeatureStoreCapabilities, onlineMatrix: true };
  readonly #views = new Map<string, { view: FeatureView; until?: number }>();
  readonly #online = new Map<string, Map<string, { ts: number; values: Row }>>();
  constructor(
    readonly lake: MemoryLake,
    readonly bug: Bug,
  ) {}

  async apply(views: FeatureView[]): Promise<void> {
    for (const view of views) {
      const bad = (field: string) =>
        new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `view '${view.name}': invalid ${field}`);
      if (view.entities.length === 0) throw bad('entities');
      if (view.features.length === 0) throw bad('features');
      if (!(view.ttlSeconds >= 0)) throw bad('ttlSeconds');
      if (view.features.some((f) => !DTYPES.has(f.dtype))) throw bad('dtype');
      const old = this.#views.get(view.name);
      if (old && JSON.stringify(old.view) === JSON.stringify(view)) continue;
      if (old && view.version <= old.view.version && this.bug !== 'no-version-rule') throw bad('version');
    }
    for (const view of views) {
      const old = this.#views.get(view.name);
      if (old && JSON.stringify(old.view) === JSON.stringify(view)) continue;
      this.#views.set(view.name, { view: structuredClone(view) });
    }
  }

  async listViews(): Promise<FeatureView[]> {
    return [...this.#views.values()].map((v) => structuredClone(v.view));
  }

  #resolve(refs: string[]): { view: FeatureView; feature: string }[] {
    return refs.map((ref) => {
      const [viewName = '', feature = ''] = ref.split(':');
      const entry = this.#views.get(viewName);
      if (!entry) throw new VigilError('VIGIL_FEATURE_UNKNOWN_VIEW', `unknown view '${viewName}'`);
      if (!entry.view.features.some((f) => f.name === feature)) {
        throw new VigilError('VIGIL_FEATURE_UNKNOWN_VIEW', `view '${viewName}' has no feature '${feature}'`);
      }
      return { view: entry.view, feature };
    });
  }

  #rows(view: FeatureView, ref: string | undefined): Row[] {
    return this.lake.at(this.bug === 'ignore-ref' ? undefined : ref).rows.get(view.source.path) ?? [];
  }

  /** The winning source row for one entity at one time, or undefined. */
  #pick(view: FeatureView, rows: Row[], keys: Row, ts: number): Row | undefined {
    const tsField = view.source.timestampField;
    let best: Row | undefined;
    for (const row of rows) {
      if (!view.entities.every((k) => row[k] === keys[k])) continue;
      const t = (row[tsField] as Date).getTime();
      if (this.bug === 'strict-before' ? t >= ts : t > ts) continue;
      if (view.ttlSeconds > 0 && this.bug !== 'ignore-ttl' && t < ts - view.ttlSeconds * 1000) continue;
      if (!best || this.#beats(view, row, best)) best = row;
    }
    return best;
  }

  /** Whether `row` is preferred over `best`: later timestamp, then later created timestamp. */
  #beats(view: FeatureView, row: Row, best: Row): boolean {
    const { timestampField: tsField, createdTimestampField: created } = view.source;
    const t = (row[tsField] as Date).getTime();
    const bt = (best[tsField] as Date).getTime();
    if (t !== bt) return t > bt;
    if (!created) return false;
    const c = (row[created] as Date).getTime();
    const bc = (best[created] as Date).getTime();
    return this.bug === 'first-created-wins' ? c < bc : c > bc;
  }

  async getHistoricalFeatures(request: HistoricalRequest): Promise<HistoricalResult> {
    const wanted = this.#resolve(request.features);
    const full = request.fullFeatureNames ?? true;
    const rows = request.entityRows.map((entityRow) => {
      const out: Record<string, ScalarValue | Date> = { ...entityRow };
      for (const { view, feature } of wanted) {
        const hit = this.#pick(
          view,
          this.#rows(view, request.ref),
          entityRow,
          entityRow.event_timestamp.getTime(),
        );
        out[full ? `${view.name}__${feature}` : feature] = (hit?.[feature] as ScalarValue) ?? null;
      }
      return out;
    });
    const views = [...new Set(wanted.map((w) => w.view))];
    return {
      rows,
      lakeCommit: this.lake.at(request.ref).id,
      featureViews: views.map((v) => ({ name: v.name, version: v.version })),
    };
  }

  #write(view: FeatureView, key: string, ts: number, values: Row): boolean {
    const table = this.#online.get(view.name) ?? new Map<string, { ts: number; values: Row }>();
    this.#online.set(view.name, table);
    const stored = table.get(key);
    if (stored && ts <= stored.ts && this.bug !== 'push-overwrites') return false;
    table.set(key, { ts, values });
    return true;
  }

  async materialize(request: MaterializeRequest): Promise<{ rowsWritten: number }> {
    let written = 0;
    for (const name of request.views ?? [...this.#views.keys()]) {
      const entry = this.#views.get(name)!;
      const { view } = entry;
      const start = request.start?.getTime() ?? entry.until ?? Number.NEGATIVE_INFINITY;
      const end = request.end.getTime();
      const latest = new Map<string, Row>();
      for (const row of this.#rows(view, request.ref)) {
        const t = (row[view.source.timestampField] as Date).getTime();
        if (t < start || t > end) continue;
        const key = JSON.stringify(view.entities.map((k) => row[k]));
        const best = latest.get(key);
        if (!best || this.#beats(view, row, best)) latest.set(key, row);
      }
      for (const [key, row] of latest) {
        if (this.#write(view, key, (row[view.source.timestampField] as Date).getTime(), row)) written++;
      }
      entry.until = end;
    }
    return { rowsWritten: written };
  }

  async push(viewName: string, rows: Record<string, ScalarValue | Date>[]): Promise<{ rowsWritten: number }> {
    const entry = this.#views.get(viewName);
    if (!entry) throw new VigilError('VIGIL_FEATURE_UNKNOWN_VIEW', `unknown view '${viewName}'`);
    let written = 0;
    for (const row of rows) {
      const key = JSON.stringify(entry.view.entities.map((k) => row[k]));
      const ts = (row[entry.view.source.timestampField] as Date).getTime();
      if (this.#write(entry.view, key, ts, row)) written++;
    }
    return { rowsWritten: written };
  }

  async getOnlineFeatures(request: OnlineRequest): Promise<OnlineResult> {
    const wanted = this.#resolve(request.features);
    const full = request.fullFeatureNames ?? true;
    const joinKeys = [...new Set(wanted.flatMap((w) => w.view.entities))];
    const names = wanted.map((w) => (full ? `${w.view.name}__${w.feature}` : w.feature));
    const rows = request.entityRows.map((entityRow) => {
      const out: Record<string, ScalarValue> = {};
      for (const k of joinKeys) out[k] = entityRow[k] ?? null;
      wanted.forEach((w, i) => {
        const key = JSON.stringify(w.view.entities.map((k) => entityRow[k]));
        const hit = this.#online.get(w.view.name)?.get(key);
        out[names[i]!] = (hit?.values[w.feature] as ScalarValue) ?? null;
      });
      return out;
    });
    return { featureNames: [...joinKeys, ...names], rows };
  }

  async getOnlineMatrix(request: OnlineRequest): Promise<OnlineMatrix> {
    const wanted = this.#resolve(request.features);
    const full = request.fullFeatureNames ?? true;
    const views = [...new Set(wanted.map((w) => w.view))];
    const x: number[] = [];
    const eventTimes: number[] = [];
    request.entityRows.forEach((entityRow, r) => {
      for (const view of views) {
        for (const k of view.entities) {
          if (entityRow[k] === undefined) {
            throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `entityRows[${r}] lacks join key '${k}'`);
          }
        }
      }
      const hit = (view: FeatureView) =>
        this.#online.get(view.name)?.get(JSON.stringify(view.entities.map((k) => entityRow[k])));
      for (const w of wanted) {
        const value = hit(w.view)?.values[w.feature];
        x.push(value === null || value === undefined ? Number.NaN : Number(value));
      }
      for (const view of views)
        eventTimes.push(this.bug === 'matrix-times' ? Number.NaN : (hit(view)?.ts ?? Number.NaN));
    });
    return {
      features: wanted.map((w) => (full ? `${w.view.name}__${w.feature}` : w.feature)),
      x: Float32Array.from(x),
      views: views.map((v) => v.name),
      eventTimes: Float64Array.from(eventTimes),
    };
  }

  async close(): Promise<void> {}
}

function factory(bug: Bug) {
  return async (): Promise<FeatureStoreFixture> => {
    const lake = new MemoryLake();
    return {
      impl: new MemoryFeatureStore(lake, bug),
      cleanup: async () => {},
      seed: async (view, rows) => lake.add(view.source.path, rows),
    };
  };
}

const allCases = featureStoreContract.cases.map((c) => c.name);
const named = (prefix: string) => {
  const found = allCases.filter((n) => n.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('feature-store contract', () => {
  it('passes a correct in-memory store', async () => {
    const report = await checkContract(featureStoreContract, factory('none'));
    expect(report.failed.map((f) => `${f.name}: ${String(f.error)}`)).toEqual([]);
    expect(report.passed).toEqual(allCases);
  });

  it.each([
    ['strict-before', ['historical: a feature row at exactly the entity timestamp']],
    ['ignore-ttl', ['historical: the TTL lower bound']],
    ['first-created-wins', ['historical: equal feature timestamps']],
    ['ignore-ref', ['historical: reads the sources at the given lake commit']],
    ['push-overwrites', ['online: push keeps newer rows']],
    ['no-version-rule', ['apply is idempotent and a changed view needs a higher version']],
    ['matrix-times', ['online: getOnlineMatrix']],
  ] as const)('fails a store with bug %s in the cases aimed at it', async (bug, expected) => {
    const report = await checkContract(featureStoreContract, factory(bug));
    const failed = report.failed.map((f) => f.name);
    for (const prefix of expected) expect(failed).toContain(named(prefix));
    // Cases that do not touch the bug still pass.
    expect(report.passed).toContain(named('apply rejects an invalid view'));
    expect(report.passed).toContain(named('historical: an unknown view or feature'));
    expect(report.passed).toContain(named('online: a missing entity reads as nulls'));
  });
});
