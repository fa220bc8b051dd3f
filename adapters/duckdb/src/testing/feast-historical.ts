/**
 * Real Feast's historical retrieval (file offline store) for the parity test and the
 * historical-retrieval benchmark. The Feast venv is the one `bash scripts/services up feast`
 * creates; it is located by the redis adapter's test helper (`feast-venv.ts`), and Feast
 * objects are built from Vigil views by that adapter's `feast-driver.py` (`definitions()`), so
 * every Feast test uses the same mapping. This package does not depend on the redis adapter
 * (the dependency runs the other way), so both are loaded by path, at run time, from tests only.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FeatureView } from '@vigil/core';

/** What the redis adapter's `src/testing/feast-venv.ts` exports and we use. */
interface FeastVenvHelper {
  FEAST_VENV: string;
  FEAST_PYTHON: string;
  requireFeast(): void;
}

const VENV_HELPER = new URL('../../../redis/src/testing/feast-venv.ts', import.meta.url).href;
const DEFINITIONS = fileURLToPath(new URL('../../../redis/src/testing/feast-driver.py', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./feast-historical.py', import.meta.url));

/** The venv's python, or an error naming the command that installs Feast. */
export async function requireFeastPython(): Promise<string> {
  const helper = (await import(VENV_HELPER)) as FeastVenvHelper;
  try {
    helper.requireFeast();
  } catch (error) {
    throw new Error(
      `Feast is not installed (no venv at ${helper.FEAST_VENV}); install it with: bash scripts/services up feast`,
      { cause: error },
    );
  }
  return helper.FEAST_PYTHON;
}

export interface FeastHistoricalRequest {
  /** Folder for the throwaway Feast repo (feature_store.yaml, registry). */
  repo: string;
  views: FeatureView[];
  /** Parquet file of each view's source, by view name. */
  sources: Record<string, string>;
  /** Parquet file of the entity dataframe: join keys, `event_timestamp` (UTC) and any extra columns. */
  entityParquet: string;
  /** One `get_historical_features(..., full_feature_names=True).to_df()` each, written to `out` (Parquet). */
  calls: { features: string[]; out: string }[];
  /** Kill Feast after this long (default 10 minutes). */
  timeoutMs?: number;
}

export interface FeastHistoricalCall {
  /** Wall time of `get_historical_features(...).to_df()`. */
  seconds: number;
  rows: number;
  /** Peak resident memory of the Feast process so far (MB). */
  peak_rss_mb: number;
}

/** Run the calls in one Feast process; returns each call's wall time, row count and memory peak. */
export async function runFeastHistorical(request: FeastHistoricalRequest): Promise<FeastHistoricalCall[]> {
  const python = await requireFeastPython();
  const child = spawn(python, [SCRIPT], {
    env: { ...process.env, FEAST_USAGE: 'False' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdin.end(
    JSON.stringify({
      definitions: DEFINITIONS,
      repo: request.repo,
      views: request.views,
      sources: request.sources,
      entity_df: request.entityParquet,
      calls: request.calls,
    }),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), request.timeoutMs ?? 600_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`feast-historical.py exited with ${code}; stderr tail:\n${stderr.slice(-3000)}`);
  }
  return (JSON.parse(stdout) as { calls: FeastHistoricalCall[] }).calls;
}
