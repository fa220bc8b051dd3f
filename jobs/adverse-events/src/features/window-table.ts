import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LakeStore } from '@vigil/core';
import { DuckDBSession, readParquet, sqlString } from '../medallion/duckdb-session.js';
import { LakeFiles } from '../medallion/lake-files.js';
import type { WindowedView, WindowFeature } from './feature-definitions.js';

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

const us = (seconds: number) => `INTERVAL '${Math.round(seconds * 1e6)} microseconds'`;
const frame = (seconds: number) =>
  seconds > 0
    ? `OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN ${us(seconds)} PRECEDING AND CURRENT ROW)`
    : 'OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)';
const readingValue = (measure: string) => `CASE WHEN measure = ${sqlString(measure)} THEN value END`;
const timeOf = (measure: string) => `CASE WHEN measure = ${sqlString(measure)} THEN ts END`;
const num = (n: number) => `CAST('${n}' AS DOUBLE)`;

function aggregate(fn: WindowFeature['fn'], x: string, over: string): string {
  switch (fn) {
    case 'mean':
      return `avg(${x}) ${over}`;
    case 'variance':
      return `var_samp(${x}) ${over}`;
    case 'min':
      return `min(${x}) ${over}`;
    case 'max':
      return `max(${x}) ${over}`;
    case 'count':
      return `CAST(count(${x}) ${over} AS BIGINT)`;
    case 'last':
      return `last_value(${x} IGNORE NULLS) ${over}`;
  }
}

/** The current value of a baseline or threshold feature: fn over its window, or the latest reading. */
const current = (f: WindowFeature) =>
  aggregate(f.windowSeconds > 0 ? f.fn : 'last', readingValue(f.of), frame(f.windowSeconds));

/** Column of the source CTE holding the patient's first reading time of a measure. */
const firstColumn = (measures: readonly string[], measure: string) => `first_${measures.indexOf(measure)}`;

/** One feature as a SQL expression over the source rows (`k`, `ts`, `measure`, `value`, `first_<i>`). */
function featureSql(f: WindowFeature, all: readonly WindowFeature[], measures: readonly string[]): string {
  const x = readingValue(f.of);
  switch (f.kind) {
    case 'window':
      return aggregate(f.fn, x, frame(f.windowSeconds));
    case 'baseline': {
      // The baseline period starts at the patient's first reading; at a row before it no reading counts.
      const inBaseline = `CASE WHEN measure = ${sqlString(f.of)} AND ts < ${firstColumn(measures, f.of)} + ${us(f.baselineSeconds!)} THEN value END`;
      return `(${current(f)} - avg(${inBaseline}) ${frame(0)})`;
    }
    case 'rate': {
      const over = frame(f.windowSeconds);
      const t = timeOf(f.of);
      return `((last_value(${x} IGNORE NULLS) ${over} - first_value(${x} IGNORE NULLS) ${over})
        / nullif((epoch_us(max(${t}) ${over}) - epoch_us(min(${t}) ${over})) / ${num(f.perSeconds! * 1e6)}, 0))`;
    }
    case 'threshold':
      return `CAST(CASE WHEN ${current(f)} ${f.threshold!.op} ${num(f.threshold!.value)} THEN 1 ELSE 0 END AS BIGINT)`;
    case 'interaction': {
      const [a, b] = f.operands!.map((name) => all.find((g) => g.name === name)!);
      return `(CAST(${featureSql(a!, all, measures)} AS DOUBLE) * CAST(${featureSql(b!, all, measures)} AS DOUBLE))`;
    }
    case 'missing':
      return `CAST(CASE WHEN count(${x}) ${frame(f.windowSeconds)} = 0 THEN 1 ELSE 0 END AS BIGINT)`;
    case 'since':
      return `((epoch_us(ts) - epoch_us(max(${timeOf(f.of)}) ${frame(0)})) / ${num(f.unitSeconds! * 1e6)})`;
    case 'static':
      return aggregate('last', x, frame(0));
  }
}

/** Measures a windowed view reads, in the order its features first name them. */
export function viewMeasures(windowed: WindowedView): string[] {
  return [...new Set(windowed.features.filter((f) => f.kind !== 'interaction').map((f) => f.of))];
}

/**
 * The SELECT that turns a long measurement table (join key, `observed_at`, `measure`,
 * `value`) into a windowed view's source table: one row per measurement of a measure the
 * view uses, at its timestamp, each feature computed from the readings at or before that
 * timestamp only — the same rows the streaming push computes one event at a time.
 */
export function windowTableSql(windowed: WindowedView, from: string): string {
  const measures = viewMeasures(windowed);
  const key = quote(windowed.joinKey);
  const firsts = measures
    .map((m, i) => `min(${timeOf(m)}) OVER (PARTITION BY k) AS first_${i}`)
    .join(',\n        ');
  return `WITH src AS (
      SELECT CAST(${key} AS VARCHAR) AS k, CAST(observed_at AS TIMESTAMP) AS ts, measure, CAST(value AS DOUBLE) AS value
      FROM ${from}
      WHERE measure IN (${measures.map(sqlString).join(', ')}) AND value IS NOT NULL AND observed_at IS NOT NULL AND ${key} IS NOT NULL
    ), based AS (
      SELECT *,
        ${firsts}
      FROM src
    )
    SELECT k AS ${key}, ts AS event_timestamp,
      ${windowed.features.map((f) => `${featureSql(f, windowed.features, measures)} AS ${quote(f.name)}`).join(',\n      ')}
    FROM based
    ORDER BY k, ts`;
}

export interface WindowTableResult {
  view: string;
  rows: number;
  /** Lake path of the staged Parquet object; null when the input table is empty. */
  path: string | null;
}

/**
 * Build the source tables of windowed views from their input tables on `branch` and stage
 * them there (`features/<view>/v<version>/part-0.parquet`); the caller commits.
 */
export async function buildWindowTables(options: {
  lake: LakeStore;
  branch: string;
  windowed: readonly WindowedView[];
  /** Scratch folder (removed afterwards). */
  scratch: string;
  threads?: number;
}): Promise<WindowTableResult[]> {
  const { lake, branch } = options;
  const session = new DuckDBSession({
    threads: options.threads ?? 2,
    memoryLimit: '1GB',
    tempDirectory: join(options.scratch, 'duckdb'),
  });
  const files = new LakeFiles(lake, options.scratch);
  const results: WindowTableResult[] = [];
  await mkdir(options.scratch, { recursive: true });
  try {
    for (const w of options.windowed) {
      const inputs = await files.parquetPaths(branch, w.input.path);
      if (inputs.length === 0) {
        results.push({ view: w.view.name, rows: 0, path: null });
        continue;
      }
      const local = join(options.scratch, `${w.view.name}.parquet`);
      const rows = await session.withConnection(async (c) => {
        await c.run(
          `COPY (${windowTableSql(w, readParquet(inputs))}) TO ${sqlString(local)} (FORMAT parquet)`,
        );
        const counted = await c.rows(`SELECT count(*) AS n FROM read_parquet(${sqlString(local)})`);
        return Number(counted[0]?.n ?? 0);
      });
      const path = `${w.view.source.path}part-0.parquet`;
      await lake.put(branch, path, new Uint8Array(await readFile(local)));
      results.push({ view: w.view.name, rows, path });
    }
    return results;
  } finally {
    await session.close();
    await rm(options.scratch, { recursive: true, force: true });
  }
}
