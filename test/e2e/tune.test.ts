import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

interface Trial {
  trial: number;
  params: Record<string, number>;
  resource: number | null;
  auroc: number | null;
  runId: string;
}

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
