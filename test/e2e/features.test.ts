import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, spawnCli } from './cli.js';

const CONFIG = join(repoRoot, 'test/e2e/fixtures/features.yaml');
const TRIAL_END = '2026-02-19T00:00:00Z';

describe('vigil features (end to end, after vigil run)', () => {
  let workdir: string;
  const features = (args: string[], config = CONFIG) =>
    runCli(['features', ...args, '--config', config, '--workdir', workdir], { timeoutMs: 60_000 });
  const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as unknown;

  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'vigil-features-e2e-'));
    // The same trial with the job's built-in views: the config's own views are new to the store.
    const run = await runCli(
      ['run', '--config', join(repoRoot, 'test/e2e/fixtures/small.yaml'), '--workdir', workdir, '--json'],
      {
        timeoutMs: 240_000,
      },
    );
    expect(run.code, run.stderr).toBe(0);
  }, 250_000);
  afterAll(async () => {
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  it('applies, lists, describes, materialises and reads the config’s views', async () => {
    const applied = await features(['apply', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(json(applied.stdout)).toEqual([
      { view: 'vitals_window', version: 1, status: 'created' },
      { view: 'patient_age', version: 1, status: 'created' },
    ]);
    const again = await features(['apply', '--json']);
    expect(json(again.stdout)).toEqual([
      { view: 'vitals_window', version: 1, status: 'unchanged' },
      { view: 'patient_age', version: 1, status: 'unchanged' },
    ]);

    const list = json((await features(['list', '--json'])).stdout) as {
      view: string;
      feature: string;
      version: number;
      ttl: string;
    }[];
    expect(list).toContainEqual({ view: 'vitals_window', feature: 'hr_var_24h', version: 1, ttl: '2d' });
    expect(list).toContainEqual({ view: 'patient_age', feature: 'age', version: 1, ttl: '0s' });
    // The job's own views, applied by `vigil run`, are still there.
    expect(list.some((r) => r.view === 'patient_daily')).toBe(true);

    const described = json((await features(['describe', 'vitals_window', '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(described).toMatchObject({
      name: 'vitals_window',
      version: 1,
      ttl: '2d',
      entities: ['patient_id'],
      input: { path: 'silver/vitals/', topic: 'vitals' },
      transforms: expect.arrayContaining([
        { feature: 'hr_var_24h', fn: 'variance', of: 'heart_rate', window: '24h' },
      ]),
    });
    const unknown = await features(['describe', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("unknown feature view 'nope'");

    const materialized = await features([
      'materialize',
      '--end',
      TRIAL_END,
      '--views',
      'vitals_window,patient_age',
      '--json',
    ]);
    expect(materialized.code, materialized.stderr).toBe(0);
    const m = json(materialized.stdout) as {
      rowsWritten: number;
      windowTables: { view: string; rows: number }[];
    };
    expect(m.windowTables[0]).toMatchObject({ view: 'vitals_window' });
    expect(m.windowTables[0]!.rows).toBeGreaterThan(1000);
    expect(m.rowsWritten).toBeGreaterThan(100);

    const got = await features(['get', '--entity', 'patient_id=P-000001', '--json']);
    expect(got.code, got.stderr).toBe(0);
    const row = json(got.stdout) as Record<string, unknown>;
    expect(row.patient_id).toBe('P-000001');
    expect(typeof row.vitals_window__hr_mean_7d).toBe('number');
    expect(Number.isInteger(row.vitals_window__hr_count_24h)).toBe(true);
    expect(typeof row.patient_age__age).toBe('number');
    expect(typeof row.patient_daily__hr_mean_24h).toBe('number');
    const some = json(
      (await features(['get', '--entity', 'patient_id=P-000001', '--features', 'patient_age:age', '--json']))
        .stdout,
    );
    expect(some).toEqual({ patient_id: 'P-000001', patient_age__age: row.patient_age__age });
  }, 120_000);

  it('refuses a changed definition without a version bump, accepts it with one', async () => {
    const text = await readFile(CONFIG, 'utf8');
    const changed = join(workdir, 'changed.yaml');
    await writeFile(changed, text.replace('fn: variance, window: 24h', 'fn: variance, window: 12h'));
    await features(['apply'], CONFIG);
    const refused = await features(['apply'], changed);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("view 'vitals_window' changed but its version 1 is not higher");
    await writeFile(
      changed,
      text
        .replace('fn: variance, window: 24h', 'fn: variance, window: 12h')
        .replace(/version: 1\n {6}description: Heart/, 'version: 2\n      description: Heart'),
    );
    const bumped = await features(['apply', '--json'], changed);
    expect(bumped.code, bumped.stderr).toBe(0);
    expect(json(bumped.stdout)).toContainEqual({ view: 'vitals_window', version: 2, status: 'updated' });
    const bad = join(workdir, 'bad.yaml');
    await writeFile(
      bad,
      text
        .replace('ttl: 2d', 'ttl: two days')
        .replace(
          'entities: [patient]\n      version: 1\n      description: Age',
          'entities: [visit]\n      version: 1\n      description: Age',
        ),
    );
    const invalid = await features(['list'], bad);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('features.views.0.ttl');
    expect(invalid.stderr).toContain("unknown entity 'visit'");
  }, 60_000);

  it('serves Feast-shaped online features over HTTP until SIGTERM', async () => {
    await features(['apply'], CONFIG);
    const child = spawnCli(['features', 'serve', '--port', '0', '--config', CONFIG, '--workdir', workdir]);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
      child.stdout!.on('data', (d) => {
        stdout += d;
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    try {
      const res = await fetch(`${url}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          feature_service: 'risk',
          entities: { patient_id: ['P-000001', 'P-404404'] },
          full_feature_names: true,
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        metadata: { feature_names: string[] };
        results: { values: unknown[]; statuses: string[] }[];
      };
      expect(body.metadata.feature_names).toEqual([
        'patient_id',
        'vitals_window__hr_var_24h',
        'patient_age__age',
      ]);
      expect(body.results[0]!.values).toEqual(['P-000001', 'P-404404']);
      expect(body.results[2]!.statuses[1]).toBe('NOT_FOUND');
      expect(body.results[2]!.values[1]).toBeNull();
      const bad = await fetch(`${url}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"features": 1}',
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ field: 'features' });
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
  }, 60_000);
});
