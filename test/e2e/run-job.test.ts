import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './cli.js';

interface Summary {
  runId: string;
  events: number;
  layers: { bronze: number; silver: number; duplicates: number; quarantined: number };
  produced: number;
  model: { version: string; sha256: string; auroc: number; bayesAuroc: number };
  latencyMs: { p50: number; p99: number };
  monitor: { predictions: number; labelled: number; auroc: number | null };
  lakeCommit: string;
  label: { points: number; positives: number; censored: number };
  steps: { name: string; status: 'ran' | 'cached' | 'resumed'; ms: number }[];
  reconciliation: {
    in: number;
    bronze: number;
    balanced: boolean;
    bySite: Record<string, { bronze: number; balanced: boolean }>;
  };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Summary;
const statuses = (s: Summary) => Object.fromEntries(s.steps.map((x) => [x.name, x.status]));
const STEPS = [
  'generate',
  'ingest',
  'silver',
  'gold',
  'features',
  'label',
  'training-set',
  'train',
  'cross-validate',
  'register',
  'serve',
  'monitor',
];

async function modelInputs(workdir: string, runId: string): Promise<string[]> {
  const record = JSON.parse(await readFile(join(workdir, 'runs', runId, 'steps', 'train.json'), 'utf8')) as {
    outputs: { model: { value: { featureNames: string[] } } };
  };
  return record.outputs.model.value.featureNames;
}

describe('vigil run (local preset, end to end)', () => {
  it('runs the pipeline; an identical rerun reuses every cacheable step; a changed feature definition reruns only what is downstream', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-e2e-'));
    const run = (config: string) =>
      runCli(['run', '--config', `test/e2e/fixtures/${config}`, '--workdir', workdir, '--json']);
    const first = await run('small.yaml');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('held-out AUROC');
    const s = lastJson(first.stdout);
    expect(s.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.steps.map((x) => x.name)).toEqual(STEPS);
    expect(s.steps.every((x) => x.status === 'ran' && x.ms >= 0)).toBe(true);
    expect(s.events).toBeGreaterThan(10_000);
    expect(s.produced).toBe(s.events);
    expect(s.layers.bronze).toBe(s.events);
    expect(s.layers.quarantined).toBeGreaterThan(0);
    expect(s.reconciliation).toMatchObject({ in: s.events, bronze: s.events, balanced: true });
    const sites = Object.values(s.reconciliation.bySite);
    expect(sites.length).toBe(3);
    expect(sites.every((c) => c.balanced)).toBe(true);
    expect(s.label.points).toBeGreaterThan(1000);
    expect(s.label.positives).toBeGreaterThan(0);
    expect(s.label.positives).toBeLessThan(s.label.points);
    expect(s.label.censored).toBeGreaterThan(0);
    expect(s.model.version).toBe('1');
    expect(s.model.auroc).toBeGreaterThan(0.65);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
    expect(s.monitor.labelled).toBe(s.monitor.predictions);
    expect(s.lakeCommit).toMatch(/^[0-9a-f]{64}$/);
    // The runner writes lineage: every step with its status and the hashes of its inputs and outputs.
    const lineage = JSON.parse(await readFile(join(workdir, 'runs', s.runId, 'lineage.json'), 'utf8')) as {
      steps: {
        step: string;
        status: string;
        inputs: Record<string, string>;
        outputs: Record<string, string>;
      }[];
    };
    // Adapters may add their own records (the feature store's reads); every step is there once.
    expect(
      lineage.steps
        .filter((x) => STEPS.includes(x.step))
        .map((x) => x.step)
        .sort(),
    ).toEqual([...STEPS].sort());
    const train = lineage.steps.find((x) => x.step === 'train')!;
    expect(Object.keys(train.inputs).sort()).toEqual(['training-set.dataset', 'training-set.split']);
    expect(train.outputs.model).toMatch(/^[0-9a-f]{64}$/);

    // Identical config: no data step runs again, same model bytes, same registered version.
    const second = await run('small.yaml');
    expect(second.code, second.stderr).toBe(0);
    const s2 = lastJson(second.stdout);
    expect(s2.runId).not.toBe(s.runId);
    expect(statuses(s2)).toEqual({
      ...Object.fromEntries(STEPS.map((x) => [x, 'cached'])),
      monitor: 'ran',
    });
    expect(s2.produced).toBe(0);
    expect(s2.layers).toEqual(s.layers);
    expect(s2.model.sha256).toBe(s.model.sha256);
    expect(s2.model.version).toBe('1');
    expect(await modelInputs(workdir, s2.runId)).toEqual(await modelInputs(workdir, s.runId));

    // Feature definitions from config: the data and label steps are reused; features and
    // everything downstream run again, and the model's inputs are the configured features.
    const third = await run('features.yaml');
    expect(third.code, third.stderr).toBe(0);
    const s3 = lastJson(third.stdout);
    expect(statuses(s3)).toEqual({
      generate: 'cached',
      ingest: 'cached',
      silver: 'cached',
      gold: 'cached',
      label: 'cached',
      features: 'ran',
      'training-set': 'ran',
      train: 'ran',
      'cross-validate': 'ran',
      register: 'ran',
      serve: 'ran',
      monitor: 'ran',
    });
    expect(await modelInputs(workdir, s3.runId)).toEqual([
      'vitals_window__hr_var_24h',
      'vitals_window__hr_mean_7d',
      'vitals_window__hr_count_24h',
      'vitals_window__spo2_min_24h',
      'patient_age__age',
    ]);
    expect(s3.model.version).toBe('2');
    expect(s3.model.sha256).not.toBe(s.model.sha256);
    expect(s3.label).toEqual(s.label);

    // vigil rebuild: the past run's training set, rebuilt from its lineage, hashes the same.
    const rebuilt = await runCli([
      'rebuild',
      s3.runId,
      '--config',
      'test/e2e/fixtures/features.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const report = JSON.parse(rebuilt.stdout.trim().split('\n').at(-1)!) as {
      identical: boolean;
      rebuiltSteps: string[];
      outputs: { recorded: string; rebuilt: string }[];
    };
    expect(report.identical).toBe(true);
    expect(report.rebuiltSteps.sort()).toEqual(['label', 'training-set']);
    expect(report.outputs.every((o) => o.recorded === o.rebuilt)).toBe(true);
  }, 400_000);

  it('resumes a run interrupted while training: only training and the steps after it run again', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-resume-'));
    const args = ['run', '--config', 'test/e2e/fixtures/slow-train.yaml', '--workdir', workdir];
    const child = spawnCli(args);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never reached training\n${stderr}`)), 200_000);
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/✓ training-set/.test(stderr)) {
          clearTimeout(timer);
          // Let training get under way, then interrupt it.
          setTimeout(resolve, 1500);
        }
      });
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    const runId = /vigil run --resume ([0-9a-f-]{36})/.exec(stderr)?.[1];
    expect(runId, stderr).toBeDefined();
    expect(stderr).not.toMatch(/✓ train {2,}/);

    const resumed = await runCli([...args, '--resume', runId!, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const s = lastJson(resumed.stdout);
    expect(s.runId).toBe(runId);
    // cross-validate (no folds in this fixture) shares the trainer's pool with train: it finished
    // before the interruption or had not started, whichever took the pool first.
    const { 'cross-validate': cv, ...rest } = statuses(s);
    expect(['resumed', 'ran']).toContain(cv);
    expect(rest).toEqual({
      generate: 'resumed',
      ingest: 'resumed',
      silver: 'resumed',
      gold: 'resumed',
      features: 'resumed',
      label: 'resumed',
      'training-set': 'resumed',
      train: 'ran',
      register: 'ran',
      serve: 'ran',
      monitor: 'ran',
    });
    const lineage = JSON.parse(await readFile(join(workdir, 'runs', runId!, 'lineage.json'), 'utf8')) as {
      steps: { step: string; status: string }[];
    };
    expect(
      lineage.steps
        .filter((x) => x.status === 'resumed' && x.step !== 'cross-validate')
        .map((x) => x.step)
        .sort(),
    ).toEqual(['features', 'generate', 'gold', 'ingest', 'label', 'silver', 'training-set'].sort());
  }, 400_000);

  it('closes components in reverse order on SIGTERM and exits cleanly; the next run succeeds', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-sigterm-'));
    const child = spawnCli(['run', '--config', 'test/e2e/fixtures/small.yaml', '--workdir', workdir]);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never reached ingest\n${stderr}`)), 120_000);
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/ingest|✓ generate/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr).toMatch(/SIGTERM received/);
    const log = (await readFile(join(workdir, 'logs', 'vigil.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; component?: string; components?: string[] });
    const started = log.find((l) => l.msg === 'kernel started')!.components!;
    const closed = log.filter((l) => l.msg === 'closed').map((l) => l.component);
    expect(closed).toEqual([...started].reverse());
    expect(log.at(-1)!.msg).toBe('kernel closed');

    const rerun = await runCli([
      'run',
      '--config',
      'test/e2e/fixtures/small.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(rerun.code, rerun.stderr).toBe(0);
  });
});
