import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  type ComponentContext,
  type FeatureStore,
  type FeatureStoreCapabilities,
  type FeatureView,
  type HistoricalRequest,
  type HistoricalResult,
  type LakeStore,
  type MaterializeRequest,
  type OnlineMatrix,
  type OnlineRequest,
  type OnlineResult,
  type ScalarValue,
  VigilError,
} from '@vigil/core';
import { loadEntityTable } from './offline/entity-table.js';
import { pointInTimeQuery, type ViewJoin } from './offline/point-in-time-query.js';
import { locateSourceFiles } from './offline/source-files.js';
import { describeFiles, sourceRelation } from './offline/source-relation.js';
import { EmbeddedOnlineBackend } from './online/embedded-online-backend.js';
import type { OnlineBackend, OnlineRow } from './online/online-backend.js';
import { OnlineFeatures } from './online/online-features.js';
import { outputExpression } from './sql/dtype.js';
import { quoteIdent } from './sql/quote.js';
import { resolveFeatures } from './views/resolve-features.js';
import { ViewRegistry } from './views/view-registry.js';

type Duckdb = typeof import('@duckdb/node-api');

export interface DuckDBFeatureStoreOptions {
  /** Absolute folder for `registry.json`, the online journal and DuckDB's spill files. */
  dir: string;
  threads: number;
  memoryLimit: string;
  /**
   * The online backend, given the registered view names. Default: the embedded journal
   * store under `<dir>/online`.
   */
  online?: (views: readonly string[]) => Promise<OnlineBackend>;
}

const capabilities: FeatureStoreCapabilities = {
  offline: true,
  online: true,
  streamingPush: true,
  onlineMatrix: true,
};

/**
 * Embedded FeatureStore: DuckDB reads the views' Parquet sources from the LakeStore at a
 * commit and answers point-in-time joins with ASOF joins; the online side is an
 * {@link OnlineBackend}: by default an in-memory map per view with an append-only journal,
 * or Redis in Feast's encoding.
 */
export class DuckDBFeatureStore implements FeatureStore {
  readonly capabilities = capabilities;
  readonly #duckdb: Duckdb;
  readonly #instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  readonly #lake: LakeStore;
  readonly #registry: ViewRegistry;
  readonly #online: OnlineFeatures;
  readonly #dir: string;
  readonly #ctx: ComponentContext;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #tables = 0;

  private constructor(init: {
    duckdb: Duckdb;
    instance: DuckDBInstance;
    conn: DuckDBConnection;
    lake: LakeStore;
    registry: ViewRegistry;
    online: OnlineFeatures;
    dir: string;
    ctx: ComponentContext;
  }) {
    this.#duckdb = init.duckdb;
    this.#instance = init.instance;
    this.#conn = init.conn;
    this.#lake = init.lake;
    this.#registry = init.registry;
    this.#online = init.online;
    this.#dir = init.dir;
    this.#ctx = init.ctx;
  }

  static async open(
    duckdb: Duckdb,
    lake: LakeStore,
    options: DuckDBFeatureStoreOptions,
    ctx: ComponentContext,
  ): Promise<DuckDBFeatureStore> {
    const registry = await ViewRegistry.open(options.dir);
    const backend = options.online
      ? await options.online(registry.names())
      : await EmbeddedOnlineBackend.open(join(options.dir, 'online'), registry.names());
    const online = new OnlineFeatures(registry, backend);
    let instance: DuckDBInstance | undefined;
    let conn: DuckDBConnection | undefined;
    try {
      instance = await duckdb.DuckDBInstance.create(':memory:', {
        threads: String(options.threads),
        memory_limit: options.memoryLimit,
        temp_directory: join(options.dir, 'duckdb-tmp'),
      });
      conn = await instance.connect();
      await conn.run("SET TimeZone = 'UTC'");
    } catch (error) {
      conn?.closeSync();
      instance?.closeSync();
      await backend.close();
      throw error;
    }
    return new DuckDBFeatureStore({ duckdb, instance, conn, lake, registry, online, dir: options.dir, ctx });
  }

  async apply(views: FeatureView[]): Promise<void> {
    // Stored values follow the old feature list; a new definition starts empty online.
    await this.#exclusive(() => this.#online.apply(views, this.#ctx.logger));
  }

  async listViews(): Promise<FeatureView[]> {
    this.#assertOpen();
    return this.#registry.list();
  }

  async getHistoricalFeatures(request: HistoricalRequest): Promise<HistoricalResult> {
    return this.#exclusive(async () => {
      const { entityRows } = request;
      if (!Array.isArray(entityRows)) {
        throw new VigilError(
          'VIGIL_FEATURE_INVALID_REQUEST',
          'getHistoricalFeatures: entityRows must be an array',
        );
      }
      const wanted = resolveFeatures(this.#registry, request.features, request.fullFeatureNames ?? true);
      const views = [...new Set(wanted.map((w) => w.view))];
      const commit = await this.#lake.resolve(request.ref ?? this.#lake.defaultBranch);
      const result: HistoricalResult = {
        rows: [],
        lakeCommit: commit,
        featureViews: views.map((v) => ({ name: v.name, version: v.version })),
      };
      if (entityRows.length === 0) return result;

      const joinKeys = [...new Set(views.flatMap((v) => v.entities))];
      const table = `__entities_${++this.#tables}`;
      const keyTypes = await loadEntityTable(this.#duckdb, this.#conn, table, entityRows, joinKeys);
      try {
        const joins: ViewJoin[] = [];
        for (const view of views) {
          const files = await locateSourceFiles(this.#lake, commit, view, join(this.#dir, 'cache'));
          const columns =
            files.length > 0 ? await describeFiles(this.#conn, files) : new Map<string, string>();
          const entityColumns = view.entities.map((k) => `__e${joinKeys.indexOf(k)}`);
          const keyCasts = view.entities.map((k) => keyTypes[joinKeys.indexOf(k)]!);
          const relation = sourceRelation(view, commit, files, columns, { keyCasts, order: true });
          joins.push({
            relation: relation.sql,
            ordered: relation.ordered,
            entityColumns,
            ttlSeconds: view.ttlSeconds,
            features: wanted.filter((w) => w.view === view).map((w) => ({ index: w.index, dtype: w.dtype })),
          });
        }
        // Output columns follow `joins` order (grouped by view); map them back to `wanted`.
        const ordered = views.flatMap((view) => wanted.filter((w) => w.view === view));
        const timestamps = ordered.map((w) => w.dtype === 'timestamp');
        // Rows start as `{}` filled key by key: V8 keeps such objects in fast mode, while a
        // spread copy that then gains properties falls back to slow dictionaries (10× slower).
        const rows = new Array<Record<string, ScalarValue | Date>>(entityRows.length);
        for (let i = 0; i < entityRows.length; i++) {
          const entityRow = entityRows[i]!;
          const row: Record<string, ScalarValue | Date> = {};
          for (const key in entityRow) row[key] = entityRow[key]!;
          rows[i] = row;
        }
        // Chunk by chunk (in input order) straight into the rows: no intermediate column arrays.
        const reader = await this.#conn.run(pointInTimeQuery(table, joins));
        let offset = 0;
        for (
          let chunk = await reader.fetchChunk();
          chunk && chunk.rowCount > 0;
          chunk = await reader.fetchChunk()
        ) {
          const n = chunk.rowCount;
          const target = rows.slice(offset, offset + n);
          offset += n;
          ordered.forEach((w, c) => {
            const values = chunk.getColumnVector(c);
            const column = w.column;
            if (timestamps[c]) {
              for (let i = 0; i < n; i++) {
                const v = values.getItem(i);
                target[i]![column] = v === null || v === undefined ? null : new Date(v as number);
              }
            } else {
              for (let i = 0; i < n; i++) target[i]![column] = (values.getItem(i) as ScalarValue) ?? null;
            }
          });
        }
        if (offset !== rows.length) {
          throw new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `getHistoricalFeatures: the point-in-time join returned ${offset} rows for ${rows.length} entity rows`,
          );
        }
        result.rows = rows;
        this.#ctx.lineage.record(
          'feature-store.historical',
          { lakeCommit: commit, views: result.featureViews.map((v) => `${v.name}@${v.version}`).join(',') },
          { rows: String(rows.length) },
        );
        return result;
      } finally {
        await this.#conn.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
      }
    });
  }

  async materialize(request: MaterializeRequest): Promise<{ rowsWritten: number }> {
    return this.#exclusive(async () => {
      const end = request.end;
      if (!(end instanceof Date) || Number.isNaN(end.getTime())) {
        throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', 'materialize: end must be a valid Date');
      }
      if (
        request.start !== undefined &&
        (!(request.start instanceof Date) || Number.isNaN(request.start.getTime()))
      ) {
        throw new VigilError(
          'VIGIL_FEATURE_INVALID_REQUEST',
          'materialize: start must be a valid Date when given',
        );
      }
      const views = (request.views ?? this.#registry.names()).map((name) => this.#registry.require(name));
      const commit = await this.#lake.resolve(request.ref ?? this.#lake.defaultBranch);
      let rowsWritten = 0;
      const watermarks = new Map<string, Date>();
      for (const view of views) {
        const start =
          request.start ??
          this.#registry.materializedUntil(view.name) ??
          (view.ttlSeconds > 0 ? new Date(end.getTime() - view.ttlSeconds * 1000) : undefined);
        if (start && start.getTime() > end.getTime()) {
          throw new VigilError(
            'VIGIL_FEATURE_INVALID_REQUEST',
            `materialize: view '${view.name}' start ${start.toISOString()} is after end ${end.toISOString()}`,
          );
        }
        rowsWritten += await this.#materializeView(view, commit, start, end);
        watermarks.set(view.name, end);
      }
      await this.#registry.setMaterializedUntil(watermarks);
      this.#ctx.lineage.record(
        'feature-store.materialize',
        { lakeCommit: commit, views: views.map((v) => `${v.name}@${v.version}`).join(',') },
        { rowsWritten: String(rowsWritten), end: end.toISOString() },
      );
      return { rowsWritten };
    });
  }

  async #materializeView(
    view: FeatureView,
    commit: string,
    start: Date | undefined,
    end: Date,
  ): Promise<number> {
    const files = await locateSourceFiles(this.#lake, commit, view, join(this.#dir, 'cache'));
    if (files.length === 0) return 0;
    const columns = await describeFiles(this.#conn, files);
    const relation = sourceRelation(view, commit, files, columns, {});
    const keys = view.entities.map((_, i) => `__k${i}`);
    const lower = start ? `__ts >= ${BigInt(start.getTime()) * 1000n} AND ` : '';
    const sql = `SELECT ${[
      ...keys,
      'CAST(__ts AS DOUBLE) AS __ts',
      ...view.features.map((f, i) => outputExpression(`__f${i}`, f.dtype)),
    ].join(', ')}
      FROM (${relation.sql})
      WHERE ${lower}__ts <= ${BigInt(end.getTime()) * 1000n}
      QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY __ts DESC, __created DESC NULLS LAST) = 1`;
    const reader = await this.#conn.runAndReadAll(sql);
    const cols = reader.getColumns() as unknown[][];
    const n = reader.currentRowCount;
    const nk = keys.length;
    const writes: OnlineRow[] = [];
    for (let i = 0; i < n; i++) {
      const entity = new Array<unknown>(nk);
      for (let k = 0; k < nk; k++) entity[k] = cols[k]![i];
      const values = view.features.map((f, j) => {
        const v = cols[nk + 1 + j]![i] as ScalarValue | undefined;
        if (v === null || v === undefined) return null;
        return f.dtype === 'timestamp' ? new Date(v as number).toISOString() : v;
      });
      writes.push({ entity, ts: cols[nk]![i] as number, values });
    }
    return this.#online.write(view, writes);
  }

  async push(viewName: string, rows: Record<string, ScalarValue | Date>[]): Promise<{ rowsWritten: number }> {
    this.#assertOpen();
    return this.#online.push(viewName, rows);
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
    await this.#queue.catch(() => undefined);
    await this.#online.close();
    this.#conn.closeSync();
    this.#instance.closeSync();
  }

  #assertOpen(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'duckdb feature store is closed');
  }

  /** Run DuckDB work one call at a time on the single connection. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
