import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LakeStore } from '@vigil/core';
import { DuckDBSession, readParquet, sqlString } from '../medallion/duckdb-session.js';
import { LakeFiles } from '../medallion/lake-files.js';
import type { WindowedView, WindowFeature } from './feature-definitions.js';

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function aggregate(feature: WindowFeature): string {
  const x = `CASE WHEN measure = ${sqlString(feature.of)} THEN value END`;
  const frame = `OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '${Math.round(feature.windowSeconds * 1e6)} microseconds' PRECEDING AND CURRENT ROW)`;
  switch (feature.fn) {
    case 'mean':
      return `avg(${x}) ${frame}`;
    case 'variance':
      return `var_samp(${x}) ${frame}`;
    case 'min':
      return `min(${x}) ${frame}`;
    case 'max':
      return `max(${x}) ${frame}`;
    case 'count':
      return `CAST(count(${x}) ${frame} AS BIGINT)`;
    case 'last':
      return `last_value(${x} IGNORE NULLS) ${frame}`;
  }
}

/**
 * The SELECT that turns a long measurement table (join key, `observed_at`, `measure`,
 * `value`) into a windowed view's source table: one row per measurement of a measure the
 * view uses, at its timestamp, each feature aggregated over the window ending at (and
 * including) that timestamp — the same rows the streaming push computes one event at a time.
 */
export function windowTableSql(windowed: WindowedView, from: string): string {
  const measures = [...new Set(windowed.features.map((f) => f.of))].map(sqlString).join(', ');
  const key = quote(windowed.joinKey);
  return `WITH src AS (
      SELECT CAST(${key} AS VARCHAR) AS k, CAST(observed_at AS TIMESTAMP) AS ts, measure, CAST(value AS DOUBLE) AS value
      FROM ${from}
      WHERE measure IN (${measures}) AND value IS NOT NULL AND observed_at IS NOT NULL AND ${key} IS NOT NULL
    )
    SELECT k AS ${key}, ts AS event_timestamp,
      ${windowed.features.map((f) => `${aggregate(f)} AS ${quote(f.name)}`).join(',\n      ')}
    FROM src
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
