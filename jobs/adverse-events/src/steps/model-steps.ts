import { auroc, defineStep, type ModelArtifact } from '@vigil/core';
import { DEFAULT_PARAMS } from '../config.js';
import { subset } from '../pipeline/training-set.js';
import type { PatientSplit, StoredDataset } from './feature-steps.js';
import type { AdverseEventsConfig } from './job-config.js';

type ModelSlice = { algorithm: string; params: Record<string, number | string | boolean>; seed: number };

/** train: fit on the training patients, early-stop on validation patients, score the held-out test patients. */
export const trainStep = defineStep<AdverseEventsConfig, ModelSlice>({
  name: 'train',
  version: 1,
  description: 'Train on training patients (early stopping on validation patients); AUROC on held-out test patients.',
  inputs: ['training-set.dataset', 'training-set.split'],
  outputs: ['model', 'metrics', 'params', 'testAuroc', 'rows'],
  requires: ['trainer'],
  config: (c) => ({
    algorithm: c.job.model.algorithm,
    params: c.job.model.params ?? DEFAULT_PARAMS[c.job.model.algorithm] ?? {},
    seed: c.seed,
  }),
  async run(ctx, inputs) {
    const trainer = ctx.port('trainer');
    const dataset = inputs['training-set.dataset'] as StoredDataset;
    const split = inputs['training-set.split'] as PatientSplit;
    const train = subset(dataset, new Set(split.train));
    const validation = subset(dataset, new Set(split.validation));
    const test = subset(dataset, new Set(split.test));
    const result = await trainer.train(
      train,
      { algorithm: ctx.config.algorithm, params: ctx.config.params, seed: ctx.config.seed },
      {
        validation,
        signal: ctx.signal,
        onProgress: (p) => ctx.progress(Math.round(p.fraction * 1000), 1000, p.message),
      },
    );
    const scores = await trainer.predict(result.artifact, test.x, test.y.length);
    return {
      model: result.artifact,
      metrics: result.metrics,
      params: result.params,
      testAuroc: auroc(scores, test.y) ?? Number.NaN,
      rows: { train: train.y.length, validation: validation.y.length, test: test.y.length, testPatients: split.test.length },
    };
  },
});

type RegisterSlice = { name: string; experiment: string; minAuroc: number; algorithm: string; seed: number };

/** register: the training run (params, metrics, ONNX, lineage) and a model version; the gate decides `champion`. */
export const registerStep = defineStep<AdverseEventsConfig, RegisterSlice>({
  name: 'register',
  version: 1,
  description: 'Log the training run and register a model version; it becomes champion only when it passes the gate.',
  inputs: ['train.model', 'train.metrics', 'train.params', 'train.testAuroc', 'features.lakeCommit', 'features.views'],
  outputs: ['version', 'alias', 'trainingRunId'],
  requires: ['registry'],
  config: (c) => ({
    name: c.job.model.name,
    experiment: c.job.model.experiment,
    minAuroc: c.job.model.minAuroc,
    algorithm: c.job.model.algorithm,
    seed: c.seed,
  }),
  stillValid: async (ctx, out) =>
    ctx
      .port('registry')
      .getModelVersion(ctx.config.name, String(out.version))
      .then(
        () => true,
        () => false,
      ),
  async run(ctx, inputs) {
    const registry = ctx.port('registry');
    const c = ctx.config;
    const model = inputs['train.model'] as ModelArtifact;
    const testAuroc = inputs['train.testAuroc'] as number;
    const lakeCommit = inputs['features.lakeCommit'] as string;
    const views = (inputs['features.views'] as string[]).join(',');
    const run = await registry.createRun({
      experiment: c.experiment,
      name: `train-${ctx.runId.slice(0, 8)}`,
      tags: { 'vigil.runId': ctx.runId, 'vigil.lakeCommit': lakeCommit },
    });
    await registry.logParams(run.runId, {
      algorithm: c.algorithm,
      seed: c.seed,
      ...(inputs['train.params'] as Record<string, string | number | boolean>),
      lakeCommit,
      featureViews: views,
    });
    await registry.logMetrics(run.runId, [
      ...Object.entries(inputs['train.metrics'] as Record<string, number>).map(([key, value]) => ({ key, value })),
      { key: 'test_auroc', value: testAuroc },
    ]);
    await registry.logArtifact(run.runId, 'model/model.onnx', model.bytes);
    await registry.logArtifact(run.runId, 'model/features.json', new TextEncoder().encode(JSON.stringify(model.featureNames)));
    await registry.endRun(run.runId, 'FINISHED');
    await registry.createRegisteredModel(c.name, { description: 'Outcome within the horizon, per prediction point.' });
    const version = await registry.createModelVersion({
      name: c.name,
      runId: run.runId,
      source: 'model/model.onnx',
      tags: { sha256: model.sha256, lakeCommit },
    });
    const passed = testAuroc >= c.minAuroc;
    if (passed) await registry.setAlias(c.name, 'champion', version.version);
    return { version: version.version, alias: passed ? 'champion' : null, trainingRunId: run.runId };
  },
});
