/**
 * bench/historical-retrieval — point-in-time retrieval of 5 feature views for N entity rows:
 * Vigil's DuckDB FeatureStore (`getHistoricalFeatures`) against real Feast 0.66's file offline
 * store (`get_historical_features(...).to_df()`, dask), over the same Parquet files, in one run.
 * Needs the `feast` venv (`bash scripts/services up feast`). Not part of the test suite.
 *
 *   node --conditions=@vigil/source --import tsx bench/historical-retrieval/historical-retrieval.ts \
 *     [entityRows=1000000] [keysPerEntity=100000] [rowsPerKey=10]
 *
 * Data (seeded): drivers (Int64 keys) and customers (String keys), `keysPerEntity` each; five
 * views (3 on drivers, 2 on customers, 14 features of every dtype but timestamp, TTLs 0, 7 d,
 * 10 d, 14 d, two with created timestamps), `rowsPerKey` rows per key at random times over 30
 * days (5 × 100k × 10 = 5M feature rows by default); entity rows at random times from day 2.
 *
 * Rows are then checked, all of them: Feast's file store loses an entity row when a view has
 * rows for its key but none within its TTL window (see docs/adapters/duckdb.md); those rows are
 * predicted independently (a NOT EXISTS query) and must be exactly the ones missing, and every
 * row Feast returns must equal Vigil's row with the same index. The rows Feast loses are checked
 * in full too, against a reference point-in-time query in DuckDB SQL (per view: the latest
 * source row for the key at or before the entity timestamp, within the TTL, latest created
 * first): every one of the 14 feature columns must equal it — null for each view that loses the
 * row, the view's value for the others. Any difference exits non-zero.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  type DuckDBFeatureStore,
  duckdbFeatureStore,
  type ParquetColumn,
  parquetFromRows,
} from '@vigil/adapter-duckdb';
import { localLake } from '@vigil/adapter-local-lake';
import {
  type ComponentContext,
  createLineageRecorder,
  createLogger,
  createRng,
  type EntityRow,
  type FeatureRef,
  type FeatureView,
  type LakeStore,
  type ScalarValue,
} from '@vigil/core';
import {
  requireFeastPython,
  runFeastHistorical,
} from '../../adapters/duckdb/src/testing/feast-historical.js';

const ENTITY_ROWS = Number(process.argv[2] ?? 1_000_000);
const KEYS = Number(process.argv[3] ?? 100_000);
const ROWS_PER_KEY = Number(process.argv[4] ?? 10);
const VIGIL_RUNS = 3;
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

try {
  await requireFeastPython();
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const driver = (view: string, features: FeatureView['features'], ttlDays: number, created: boolean) =>
  ({
    name: view,
    entities: ['driver_id'],
    entityDtypes: { driver_id: 'int64' },
    features,
    ttlSeconds: ttlDays * 86_400,
    source: {
      path: `bench/${view}`,
      timestampField: 'event_ts',
      ...(created ? { createdTimestampField: 'created_ts' } : {}),
    },
    version: 1,
  }) satisfies FeatureView;
const customer = (view: string, features: FeatureView['features'], ttlDays: number, created: boolean) =>
  ({
    ...driver(view, features, ttlDays, created),
    entities: ['customer_id'],
    entityDtypes: {},
  }) satisfies FeatureView;

const views: FeatureView[] = [
  driver(
    'driver_hourly',
    [
      { name: 'conv_rate', dtype: 'float64' },
      { name: 'acc_rate', dtype: 'float64' },
      { name: 'trips', dtype: 'int64' },
    ],
    10,
    true,
  ),
  driver(
    'driver_daily',
    [
      { name: 'rating', dtype: 'float32' },
      { name: 'city', dtype: 'string' },
    ],
    0,
    false,
  ),
  driver(
    'driver_quality',
    [
      { name: 'complaints', dtype: 'int32' },
      { name: 'score', dtype: 'float64' },
    ],
    14,
    false,
  ),
  customer(
    'customer_profile',
    [
      { name: 'age', dtype: 'int64' },
      { name: 'segment', dtype: 'string' },
      { name: 'vip', dtype: 'bool' },
    ],
    0,
    true,
  ),
  customer(
    'customer_txn',
    [
      { name: 'spend', dtype: 'float64' },
      { name: 'n_txn', dtype: 'int64' },
      { name: 'refunds', dtype: 'int32' },
      { name: 'avg_basket', dtype: 'float64' },
    ],
    7,
    false,
  ),
];

const rng = createRng('bench-historical-retrieval');
const customerId = (i: number) => `c${String(i).padStart(7, '0')}`;
const CITIES = ['Lyon', 'Oslo', 'Porto', 'Basel', 'Turku'];

function featureValue(dtype: string): ScalarValue {
  if (rng.next() < 0.05) return null;
  switch (dtype) {
    case 'float64':
      return Math.round(rng.normal() * 1e4) / 64 + 0;
    case 'float32':
      return rng.int(80) / 16;
    case 'string':
      return CITIES[rng.int(CITIES.length)]!;
    case 'bool':
      return rng.next() < 0.5;
    default:
      return rng.int(100_000) - 50_000;
  }
}

/** Parquet columns of a view's source: its join key, timestamps and features. */
const sourceColumns = (view: FeatureView): ParquetColumn[] => [
  { name: view.entities[0]!, dtype: view.entities[0] === 'driver_id' ? 'int64' : 'string' },
  { name: 'event_ts', dtype: 'timestamp' },
  ...(view.source.createdTimestampField ? [{ name: 'created_ts', dtype: 'timestamp' } as const] : []),
  ...view.features,
];

const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-historical-'));
const ctx = (ports: { 'lake-store'?: LakeStore }): ComponentContext => ({
  runId: 'bench',
  workdir: dir,
  seed: 7,
  logger: createLogger({ level: 'silent' }),
  lineage: createLineageRecorder('bench'),
  signal: new AbortController().signal,
  emit: async () => undefined,
  port: ((name: 'lake-store') => {
    const port = ports[name];
    if (!port) throw new Error(`no port ${name} in the benchmark`);
    return port;
  }) as ComponentContext['port'],
});
const lake = await localLake.create(localLake.config.parse({}), ctx({}));
const store = (await duckdbFeatureStore.create(
  duckdbFeatureStore.config.parse({ threads: 2, memoryLimit: '6GB' }),
  ctx({ 'lake-store': lake }),
)) as DuckDBFeatureStore;
const duck = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '4GB' });
const conn = await duck.connect();
await conn.run("SET TimeZone = 'UTC'");
try {
  const began = performance.now();
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const sources: Record<string, string> = {};
  let featureRows = 0;
  for (const view of views) {
    const key = view.entities[0]!;
    const rows: Record<string, ScalarValue | Date>[] = [];
    for (let k = 0; k < KEYS; k++) {
      for (let r = 0; r < ROWS_PER_KEY; r++) {
        const ts = T0 + Math.floor(rng.next() * 30 * DAY);
        const row: Record<string, ScalarValue | Date> = {
          [key]: key === 'driver_id' ? k : customerId(k),
          event_ts: new Date(ts),
        };
        if (view.source.createdTimestampField) row.created_ts = new Date(ts + rng.int(DAY));
        for (const f of view.features) row[f.name] = featureValue(f.dtype);
        rows.push(row);
      }
    }
    const bytes = await parquetFromRows(sourceColumns(view), rows, {
      connection: conn,
      tmpDir: dir,
    });
    featureRows += rows.length;
    sources[view.name] = join(dir, `${view.name}.parquet`);
    await writeFile(sources[view.name]!, bytes);
    await lake.put(lake.defaultBranch, `${view.source.path}/part-00000.parquet`, bytes);
  }
  const ref = (await lake.commit(lake.defaultBranch, 'bench data')).id;
  const entityRows: EntityRow[] = new Array(ENTITY_ROWS);
  for (let i = 0; i < ENTITY_ROWS; i++) {
    entityRows[i] = {
      row_idx: i,
      driver_id: rng.int(KEYS),
      customer_id: customerId(rng.int(KEYS)),
      event_timestamp: new Date(T0 + 2 * DAY + Math.floor(rng.next() * 28 * DAY)),
    };
  }
  const entityParquet = join(dir, 'entities.parquet');
  await writeFile(
    entityParquet,
    await parquetFromRows(
      [
        { name: 'row_idx', dtype: 'int64' },
        { name: 'driver_id', dtype: 'int64' },
        { name: 'customer_id', dtype: 'string' },
        { name: 'event_timestamp', dtype: 'timestamp' },
      ],
      entityRows,
      { connection: conn, tmpDir: dir },
    ),
  );
  console.log(
    `data: ${ENTITY_ROWS} entity rows; ${views.length} views, ${views.reduce((n, v) => n + v.features.length, 0)} features, ${featureRows} feature rows (${KEYS} keys × ${ROWS_PER_KEY}); generated in ${((performance.now() - began) / 1000).toFixed(0)} s`,
  );

  // Vigil: the same files through the lake.
  await store.apply(views);
  const features = views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}` as FeatureRef));
  const columns = views.flatMap((v) => v.features.map((f) => `${v.name}__${f.name}`));
  const vigilSeconds: number[] = [];
  let vigilRows: Record<string, ScalarValue | Date>[] = [];
  for (let run = 0; run < VIGIL_RUNS; run++) {
    vigilRows = [];
    const t = performance.now();
    const result = await store.getHistoricalFeatures({ entityRows, features, ref, fullFeatureNames: true });
    vigilSeconds.push((performance.now() - t) / 1000);
    vigilRows = result.rows;
  }
  console.log(
    `vigil  getHistoricalFeatures: ${vigilSeconds.map((s) => `${s.toFixed(2)} s`).join(', ')} (heap ${(process.memoryUsage().heapUsed / 2 ** 30).toFixed(1)} GiB after)`,
  );

  // Feast: one process, one call, timed in Python around get_historical_features + to_df.
  const out = join(dir, 'feast.parquet');
  const feastBegan = performance.now();
  const [feast] = await runFeastHistorical({
    repo: join(dir, 'feast-repo'),
    views,
    sources,
    entityParquet,
    calls: [{ features, out }],
    timeoutMs: 1_800_000,
  });
  console.log(
    `feast  get_historical_features(...).to_df(): ${feast!.seconds.toFixed(2)} s (${feast!.rows} rows, peak RSS ${(feast!.peak_rss_mb / 1024).toFixed(1)} GiB; process incl. import and apply ${((performance.now() - feastBegan) / 1000).toFixed(0)} s)`,
  );

  // Which rows Feast's file store loses, predicted from the data alone.
  await conn.run(`CREATE TABLE ent AS SELECT * FROM read_parquet('${entityParquet}')`);
  const lost = views.map((v) => {
    const key = v.entities[0]!;
    const window =
      v.ttlSeconds > 0 ? `AND s.event_ts >= e.event_timestamp - INTERVAL ${v.ttlSeconds} SECOND` : '';
    return `SELECT e.row_idx FROM ent e WHERE e.${key} IN (SELECT ${key} FROM read_parquet('${sources[v.name]}'))
      AND NOT EXISTS (SELECT 1 FROM read_parquet('${sources[v.name]}') s
        WHERE s.${key} = e.${key} AND s.event_ts <= e.event_timestamp ${window})`;
  });
  const lostReader = await conn.runAndReadAll(`SELECT DISTINCT row_idx FROM (${lost.join(' UNION ALL ')})`);
  const lostRows = new Set(lostReader.getColumnsJS()[0]!.map((v) => Number(v)));

  // Vigil keeps the lost rows: every feature column of every lost row against the reference.
  await conn.run(
    `CREATE TABLE lost_rows AS SELECT * FROM ent WHERE row_idx IN (SELECT row_idx FROM (${lost.join(' UNION ALL ')}))`,
  );
  let lostChecked = 0;
  let lostMismatches = 0;
  const lostExamples: string[] = [];
  for (const v of views) {
    const key = v.entities[0]!;
    const window =
      v.ttlSeconds > 0 ? `AND s.event_ts >= e.event_timestamp - INTERVAL ${v.ttlSeconds} SECOND` : '';
    const order = v.source.createdTimestampField ? 's.event_ts DESC, s.created_ts DESC' : 's.event_ts DESC';
    const cast = (f: { name: string; dtype: string }) =>
      /int|float/.test(f.dtype) ? `CAST(p."${f.name}" AS DOUBLE)` : `p."${f.name}"`;
    const reference = (
      await conn.runAndReadAll(
        `SELECT e.row_idx, ${v.features.map(cast).join(', ')} FROM lost_rows e LEFT JOIN (
           SELECT e.row_idx AS r, s.*, ROW_NUMBER() OVER (PARTITION BY e.row_idx ORDER BY ${order}) AS rn
           FROM lost_rows e JOIN read_parquet('${sources[v.name]}') s
             ON s.${key} = e.${key} AND s.event_ts <= e.event_timestamp ${window}
         ) p ON p.r = e.row_idx AND p.rn = 1 ORDER BY e.row_idx`,
      )
    ).getColumnsJS() as unknown[][];
    const rowIdx = reference[0]!.map((r) => Number(r));
    for (let j = 0; j < rowIdx.length; j++) {
      const mine = vigilRows[rowIdx[j]!]!;
      for (const [c, f] of v.features.entries()) {
        let want = reference[c + 1]![j] ?? null;
        if (typeof want === 'number' && Number.isNaN(want)) want = null;
        const got = mine[`${v.name}__${f.name}`] ?? null;
        lostChecked++;
        if (got !== want) {
          lostMismatches++;
          if (lostExamples.length < 5)
            lostExamples.push(
              `lost row ${rowIdx[j]} ${v.name}__${f.name}: vigil ${String(got)} reference ${String(want)}`,
            );
        }
      }
    }
  }

  // Compare every row Feast returned with Vigil's.
  const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${out}')`);
  const types = new Map(
    described.getRowObjectsJS().map((r) => [String(r.column_name), String(r.column_type)]),
  );
  const all = ['row_idx', 'driver_id', 'customer_id', 'event_timestamp', ...columns];
  const select = all.map((c) => {
    const t = types.get(c) ?? '';
    if (t.startsWith('TIMESTAMP')) return `CAST(epoch_ms("${c}") AS DOUBLE)`;
    if (/INT|FLOAT|DOUBLE/.test(t)) return `CAST("${c}" AS DOUBLE)`;
    return `"${c}"`;
  });
  const feastCols = (
    await conn.runAndReadAll(`SELECT ${select.join(', ')} FROM read_parquet('${out}') ORDER BY row_idx`)
  ).getColumnsJS() as unknown[][];
  const idx = feastCols[0]! as number[];
  let mismatches = 0;
  const examples: string[] = [];
  for (let j = 0; j < idx.length; j++) {
    const mine = vigilRows[idx[j]!]!;
    for (let c = 1; c < all.length; c++) {
      let theirs = feastCols[c]![j];
      if (typeof theirs === 'number' && Number.isNaN(theirs)) theirs = null;
      const v = mine[all[c]!];
      const value = v instanceof Date ? v.getTime() : (v ?? null);
      if (value !== theirs) {
        mismatches++;
        if (examples.length < 5) examples.push(`row ${idx[j]} ${all[c]}: vigil ${value} feast ${theirs}`);
      }
    }
  }
  const expectedIdx = entityRows.map((e) => e.row_idx as number).filter((r) => !lostRows.has(r));
  const sameSet = expectedIdx.length === idx.length && expectedIdx.every((r, j) => r === idx[j]);
  // Each lost row is lost by at least one view, whose columns must then all be null.
  const lostNull = lostMismatches === 0 && lostChecked === lostRows.size * columns.length;
  console.log(
    `check: feast returned ${idx.length} rows; ${lostRows.size} predicted lost (view rows for the key, none in the TTL window): ${sameSet ? 'exactly those' : 'NOT those'}; Vigil keeps them, all ${lostChecked} values (${lostRows.size} rows × ${columns.length} columns) equal to the reference query (nulls for the views that lose them): ${lostNull ? 'yes' : `NO (${lostMismatches} differ)`}`,
  );
  for (const e of lostExamples) console.log(`  ${e}`);
  console.log(
    `check: ${idx.length} × ${all.length - 1} values compared: ${mismatches === 0 ? 'all identical' : `${mismatches} differ`}`,
  );
  for (const e of examples) console.log(`  ${e}`);
  console.log(
    `machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average now ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const median = [...vigilSeconds].sort((a, b) => a - b)[Math.floor(vigilSeconds.length / 2)]!;
  console.log(
    `ratio feast / vigil: ${(feast!.seconds / median).toFixed(1)}× (median of ${VIGIL_RUNS} Vigil runs), ${(feast!.seconds / vigilSeconds[0]!).toFixed(1)}× (first run), ${(feast!.seconds / Math.max(...vigilSeconds)).toFixed(1)}× (slowest run)`,
  );
  if (!sameSet || !lostNull || mismatches > 0) process.exitCode = 1;
} finally {
  conn.closeSync();
  duck.closeSync();
  await store.close();
  await lake.close();
  await rm(dir, { recursive: true, force: true });
}
