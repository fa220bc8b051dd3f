/**
 * Real Feast from PyPI, in the venv that `scripts/services up feast` creates under the cache
 * folder (`${VIGIL_CACHE:-~/.cache/vigil}/feast/venv`). Used by the interop tests and the
 * online-lookup benchmark only.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureView } from '@vigil/core';
import { REDIS_PORT } from './redis-server.js';

export const FEAST_VENV = join(
  process.env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil'),
  'feast',
  'venv',
);
export const FEAST_PYTHON = join(FEAST_VENV, 'bin', 'python');
export const FEAST_BIN = join(FEAST_VENV, 'bin', 'feast');
const DRIVER = fileURLToPath(new URL('./feast-driver.py', import.meta.url));

/** Fail, naming the command that installs it, when the Feast venv is missing. */
export function requireFeast(): void {
  if (!existsSync(FEAST_PYTHON) || !existsSync(FEAST_BIN)) {
    throw new Error(
      `the Feast venv is missing (${FEAST_VENV}); create it with: bash scripts/services up redis feast`,
    );
  }
}

/** Write a Feast repo's feature_store.yaml: local provider, file registry, the test Redis, key v3. */
export async function writeFeastRepo(dir: string, project: string): Promise<void> {
  await writeFile(
    join(dir, 'feature_store.yaml'),
    [
      `project: ${project}`,
      `registry: ${join(dir, 'registry.db')}`,
      'provider: local',
      'online_store:',
      '  type: redis',
      `  connection_string: "127.0.0.1:${REDIS_PORT}"`,
      'offline_store:',
      '  type: file',
      'entity_key_serialization_version: 3',
      '',
    ].join('\n'),
  );
}

export type FeastStep =
  | { op: 'apply'; repo: string }
  | { op: 'materialize'; repo: string; start: string; end: string }
  | {
      op: 'online';
      repo: string;
      features: string[];
      entity_rows: Record<string, unknown>[];
      full_feature_names?: boolean;
    };

/**
 * Run steps against real Feast in one Python process (Feast takes seconds to import). `views`
 * are Vigil definitions turned into Feast entities and feature views over FileSources at
 * `sources[view.name]` (Parquet files).
 */
export async function runFeast(request: {
  views: FeatureView[];
  sources: Record<string, string>;
  steps: FeastStep[];
}): Promise<{ results: unknown[] }> {
  requireFeast();
  const child = spawn(FEAST_PYTHON, [DRIVER], {
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
  child.stdin.end(JSON.stringify(request));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`feast driver exited with ${code}; stderr tail:\n${stderr.slice(-3000)}`);
  }
  return JSON.parse(stdout) as { results: unknown[] };
}
