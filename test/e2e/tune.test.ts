import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

interface Trial {
  trial: number;
  bracket: number;
  params: Record<string, number>;
  resource: number;
  auroc: number | null;
  rungs: { resource: number; auroc: number | null }[];
  runId: string;
}

const tagsOf = async (workdir: string, runId: string) =>
  JSON.parse(
    await readFile(join(workdir, 'registry/experiments/adverse-events/runs', runId, 'tags.json'), 'utf8'),
  ) as Record<string, string>;

const stepOutputs = async (workdir: string, runId: string, step: string) =>
  (
    JSON.parse(await readFile(join(workdir, 'runs', runId, 'steps', `${step}.json`), 'utf8')) as {
      outputs: Record<string, { value: unknown }>;
    }
  ).outputs;

describe('tuning (successive halving on grouped inner folds)', () => {
  it('tries the configured trials, halves them over boosting rounds, and trains the best', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-tune-'));
    const run = await runCli([
      'run',
      '--config',
      'test/e2e/fixtures/tune.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      runId: string;
      steps: { name: string }[];
      model: {
        tune: {
          trials: number;
          bestCvAuroc: number;
          bestParams: Record<string, number>;
          parentRunId: string;
        };
      };
    };
    expect(s.steps.map((x) => x.name)).toContain('tune');
    const tune = await stepOutputs(workdir, s.runId, 'tune');
    const trials = tune.trials!.value as Trial[];
    // Every configuration is reported once, at the last rung it reached: 6 at 10 rounds, the best 2 at 30, the best 1 at 90.
    expect(trials.map((t) => t.trial).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(trials.filter((t) => t.resource === 10)).toHaveLength(4);
    expect(trials.filter((t) => t.resource === 30)).toHaveLength(1);
    expect(trials.filter((t) => t.resource === 90)).toHaveLength(1);
    const promoted = trials.filter((t) => t.resource !== 10);
    expect(promoted.every((t) => t.params.nEstimators === t.resource)).toBe(true);
    const best = trials.find((t) => t.resource === 90)!;
    expect(s.model.tune.bestParams).toEqual(best.params);
    expect(s.model.tune.bestCvAuroc).toBe(best.auroc);
    // Each trial is its own run in the registry, a child of the tuning run (MLflow's parent tag).
    expect(new Set(trials.map((t) => t.runId)).size).toBe(6);
    for (const t of trials) {
      const tags = JSON.parse(
        await readFile(
          join(workdir, 'registry/experiments/adverse-events/runs', t.runId, 'tags.json'),
          'utf8',
        ),
      ) as Record<string, string>;
      expect(tags['mlflow.parentRunId']).toBe(s.model.tune.parentRunId);
    }
    // The model trained is the best configuration.
    const train = await stepOutputs(workdir, s.runId, 'train');
    const params = train.params!.value as Record<string, number>;
    for (const [k, v] of Object.entries(best.params)) expect(params[k]).toBe(v);
  }, 300_000);
});

describe('tuning (TPE + ASHA, two in flight, nested CV)', () => {
  it('early-stops by the ASHA rule, trains the best at full resource, and reports the nested estimate', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-tune-asha-'));
    const run = await runCli([
      'run',
      '--config',
      'test/e2e/fixtures/tune-asha.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      runId: string;
      model: {
        tune: {
          sampler: string;
          scheduler: string;
          trials: number;
          jobs: number;
          bestCvAuroc: number;
          bestParams: Record<string, number>;
          parentRunId: string;
          nested: { folds: number; aurocMean: number; aurocSd: number | null };
        };
      };
    };
    const t = s.model.tune;
    expect([t.sampler, t.scheduler, t.trials]).toEqual(['tpe', 'asha', 8]);
    const tune = await stepOutputs(workdir, s.runId, 'tune');
    const trials = tune.trials!.value as Trial[];
    expect(trials.map((x) => x.trial)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // rungs 10, 30, 90: each trial's rungs are a prefix of them; the jobs are every rung run
    for (const x of trials) {
      expect(x.rungs.map((r) => r.resource)).toEqual([10, 30, 90].slice(0, x.rungs.length));
      expect(x.params.nEstimators).toBe(x.resource);
    }
    expect(t.jobs).toBe(trials.reduce((a, x) => a + x.rungs.length, 0));
    expect(t.jobs).toBeLessThan(8 * 3);
    // the winner ran at the full resource and is what train fitted
    const top = trials.filter((x) => x.resource === 90);
    expect(top.length).toBeGreaterThanOrEqual(1);
    expect(t.bestParams.nEstimators).toBe(90);
    expect(t.bestCvAuroc).toBe(Math.max(...top.map((x) => x.auroc!)));
    const train = await stepOutputs(workdir, s.runId, 'train');
    const params = train.params!.value as Record<string, number>;
    for (const [k, v] of Object.entries(t.bestParams)) expect(params[k]).toBe(v);
    // nested CV: 2 outer folds, each a child run of the tuning run with its own trials under it
    expect(t.nested.folds).toBe(2);
    expect(t.nested.aurocMean).toBeGreaterThan(0.5);
    expect(t.nested.aurocMean).toBeLessThanOrEqual(1);
    const nested = tune.nested!.value as {
      outer: { fold: number; auroc: number; patients: { train: number; test: number } }[];
    };
    expect(nested.outer.map((o) => o.fold)).toEqual([0, 1]);
    for (const x of trials)
      expect((await tagsOf(workdir, x.runId))['mlflow.parentRunId']).toBe(t.parentRunId);
    const { readdir } = await import('node:fs/promises');
    const runs = await readdir(join(workdir, 'registry/experiments/adverse-events/runs'));
    const tags = await Promise.all(runs.map(async (r) => ({ r, tags: await tagsOf(workdir, r) })));
    const outer = tags.filter((x) => x.tags['vigil.tune.outerFold'] !== undefined);
    expect(outer).toHaveLength(2);
    for (const o of outer) {
      expect(o.tags['mlflow.parentRunId']).toBe(t.parentRunId);
      const children = tags.filter((x) => x.tags['mlflow.parentRunId'] === o.r);
      expect(children).toHaveLength(8);
    }
  }, 600_000);
});
