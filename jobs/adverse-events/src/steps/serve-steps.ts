import { defineStep, type ModelArtifact, versionArtifact } from '@vigil/core';
import { matrixRequest, replayOverHttp } from '../pipeline/serve.js';
import { denseMatrix, subset } from '../pipeline/training-set.js';
import type { PatientSplit, StoredDataset } from './feature-steps.js';
import type { AdverseEventsConfig } from './job-config.js';
import { matrixFor, modelInput, onlineInput, refsOf, testRows } from './model-inputs.js';

/** serve: load the version, route to it, replay held-out rows over HTTP and score patients online. */
export const serveStep = defineStep<AdverseEventsConfig, { name: string; requests: number }>({
  name: 'serve',
  version: 3,
  description:
    'Serve the registered version over OIP/HTTP: replay held-out rows (latency, monitor) and score every test patient from the online store.',
  inputs: [
    'register.version',
    'register.served',
    'train.model',
    'training-set.dataset',
    'training-set.split',
    'label.end',
    'label.horizonMs',
    'features.lakeCommit',
  ],
  outputs: ['url', 'requests', 'latencyMs', 'online', 'servedVersion', 'shadowVersion', 'versions'],
  requires: ['server', 'monitor', 'feature-store', 'registry'],
  // Served once per model, inputs and config: a rerun that changes none of them reuses the check
  // instead of feeding the monitor the same predictions again — while the monitor still holds them.
  config: (c) => ({ name: c.job.model.name, requests: c.job.serve.requests }),
  stillValid: async (ctx, out) => {
    const version = out.servedVersion as string | null;
    if (version === null) return true;
    const held = await ctx.port('monitor').evaluate({ model: ctx.config.name, version });
    return held.predictions >= Number(out.requests);
  },
  async run(ctx, inputs) {
    const server = ctx.port('server');
    const features = ctx.port('feature-store');
    const { name } = ctx.config;
    const challenger = inputs['register.version'] as string;
    const served = inputs['register.served'] as string | null;
    const model = inputs['train.model'] as ModelArtifact;
    const dataset = inputs['training-set.dataset'] as StoredDataset;
    const split = inputs['training-set.split'] as PatientSplit;
    if (served === null) {
      // No champion, and this version was refused: nothing may be served.
      ctx.logger.warn({ challenger }, 'no champion to serve: the only version was refused by the gate');
      return {
        url: null,
        requests: 0,
        latencyMs: null,
        online: { patients: split.test.length, scored: 0 },
        servedVersion: null,
        shadowVersion: null,
        versions: {},
      };
    }
    // The champion answers; a refused challenger only shadows it (its answers are discarded).
    const registry = ctx.port('registry');
    const ref = inputs['features.lakeCommit'] as string;
    const served_ = served === challenger ? model : await versionArtifact(registry, name, served, model);
    await server.load({ name, version: served, artifact: served_ });
    // Same features and the same input shape (a row model cannot read a sequence model's requests).
    const sameFeatures = JSON.stringify(served_.featureNames) === JSON.stringify(model.featureNames);
    const sameInputs =
      sameFeatures && JSON.stringify(served_.inputs[0]?.shape) === JSON.stringify(model.inputs[0]?.shape);
    // A shadow sees the champion's requests, so it can only shadow a champion with the same inputs.
    const shadow = served !== challenger && sameInputs ? challenger : null;
    if (shadow) await server.load({ name, version: shadow, artifact: model });
    await server.route(name, {
      candidates: [{ version: served, weight: 100 }],
      ...(shadow ? { mirror: { version: shadow, percent: 100 } } : {}),
    });
    const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
    const testIds = new Set(split.test);
    const held = subset(dataset, testIds);
    const rows = testRows(dataset, testIds);
    // The served model reads its own features: a champion trained on other views is fed by them.
    const test = sameFeatures
      ? held
      : {
          ...held,
          featureNames: served_.featureNames,
          x: await matrixFor(features, served_.featureNames, rows, ref),
        };
    const replay = await replayOverHttp({
      url,
      model: name,
      // A sequence model's requests carry each row's history: [1, L·d] per request.
      set: { ...test, x: modelInput(served_, test) },
      at: rows.at.map((t) => new Date(t)),
      requests: Math.min(ctx.config.requests, Math.max(1, test.y.length)),
      horizonDays: (inputs['label.horizonMs'] as number) / 86_400_000,
      runId: ctx.runId,
      monitor: ctx.port('monitor'),
      flush: async () => {
        await server.flushPredictions?.();
      },
      signal: ctx.signal,
      onProgress: (p) => ctx.progress(p.done, p.total, p.message),
    });
    // Online path: materialise the latest features and score every held-out patient now.
    const end = new Date((inputs['label.end'] as Date).getTime() + 86_400_000);
    await features.materialize({ end, ref });
    const online = await features.getOnlineFeatures({
      features: refsOf(served_.featureNames),
      entityRows: split.test.map((id) => ({ patient_id: id })),
      fullFeatureNames: true,
    });
    const width = served_.inputs[0]?.shape[1] ?? served_.featureNames.length;
    let scored = 0;
    if (online.rows.length > 0) {
      const x = onlineInput(
        served_,
        { x: denseMatrix(online.rows, served_.featureNames), patientIds: split.test },
        { x: test.x, groups: test.groups, at: rows.at },
        end.getTime(),
      );
      const answer = await server.infer(name, matrixRequest(x, width, 0, online.rows.length));
      scored = answer.outputs.find((o) => o.name === 'probabilities')?.shape[0] ?? 0;
    }
    return {
      url,
      requests: replay.requests,
      latencyMs: { p50: replay.p50, p99: replay.p99 },
      online: { patients: split.test.length, scored },
      servedVersion: served,
      shadowVersion: shadow,
      versions: replay.versions,
    };
  },
});

/** monitor: the served version's performance on the outcomes recorded so far. */
export const monitorStep = defineStep<AdverseEventsConfig, { name: string }>({
  name: 'monitor',
  version: 1,
  description: 'Evaluate the served version on the predictions and outcomes the monitor holds.',
  inputs: ['serve.servedVersion', 'serve.requests'],
  outputs: ['evaluation'],
  requires: ['monitor'],
  cache: false,
  config: (c) => ({ name: c.job.model.name }),
  async run(ctx, inputs) {
    const version = inputs['serve.servedVersion'] as string | null;
    if (version === null) return { evaluation: { predictions: 0, labelled: 0, auroc: null } };
    const evaluation = await ctx.port('monitor').evaluate({ model: ctx.config.name, version });
    return {
      evaluation: {
        predictions: evaluation.predictions,
        labelled: evaluation.labelled,
        auroc: evaluation.auroc,
      },
    };
  },
});
