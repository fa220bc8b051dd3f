import { defineStep } from '@vigil/core';
import { DEFAULT_PARAMS } from '../config.js';
import type { PatientSplit, StoredDataset } from '../steps/feature-steps.js';
import type { AdverseEventsConfig } from '../steps/job-config.js';
import { runClosedLoop } from './closed-loop.js';
import type { LoopConfig } from './loop-config.js';

const DAY_MS = 86_400_000;

interface LoopSlice {
  loop: LoopConfig;
  name: string;
  experiment: string;
  algorithm: string;
  params: Record<string, number | string | boolean>;
  seed: number;
  start: string | null;
}

/** loop: the closed loop over simulated weeks (`vigil run --weeks N`), after the pipeline. */
export const loopStep = defineStep<AdverseEventsConfig, LoopSlice>({
  name: 'loop',
  version: 1,
  description:
    'Play the trial week by week: retrain on landed labels, gate, canary over HTTP with automatic rollback, label, monitor AUROC/ECE/drift.',
  inputs: ['training-set.dataset', 'training-set.split', 'training-set.sites', 'label.horizonMs'],
  outputs: ['model', 'timeline', 'requests', 'failedRequests'],
  requires: ['server', 'monitor', 'trainer', 'registry'],
  pool: 'trainer',
  config: (c) => ({
    loop: c.job.loop,
    name: c.job.model.name,
    experiment: c.job.model.experiment,
    algorithm: c.job.model.algorithm,
    params: c.job.model.params ?? DEFAULT_PARAMS[c.job.model.algorithm] ?? {},
    seed: c.seed,
    start: c.job.data.mode === 'simulate' ? c.job.trial.start : null,
  }),
  async run(ctx, inputs) {
    const dataset = inputs['training-set.dataset'] as StoredDataset;
    const first = dataset.at.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    const trialStart = ctx.config.start ? Date.parse(ctx.config.start) : Math.floor(first / DAY_MS) * DAY_MS;
    const result = await runClosedLoop({
      config: ctx.config.loop,
      name: ctx.config.name,
      experiment: ctx.config.experiment,
      algorithm: ctx.config.algorithm,
      params: ctx.config.params,
      seed: ctx.config.seed,
      dataset,
      split: inputs['training-set.split'] as PatientSplit,
      sites: inputs['training-set.sites'] as Record<string, string>,
      horizonMs: inputs['label.horizonMs'] as number,
      trialStart,
      workdir: ctx.workdir,
      runId: ctx.runId,
      server: ctx.port('server'),
      monitor: ctx.port('monitor'),
      trainer: ctx.port('trainer'),
      registry: ctx.port('registry'),
      logger: ctx.logger,
      signal: ctx.signal,
      onProgress: (done, total, message) => ctx.progress(Math.round(done * 100), total * 100, message),
    });
    return {
      model: result.model,
      timeline: result.weeks,
      requests: result.requests,
      failedRequests: result.failedRequests,
    };
  },
});
