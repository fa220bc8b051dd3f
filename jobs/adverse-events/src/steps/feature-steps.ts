import { createHash } from 'node:crypto';
import { defineStep, type FeatureRef, type TrainingSet } from '@vigil/core';
import { durationSeconds } from '../features/duration.js';
import { compileFeatureDefinitions } from '../features/feature-definitions.js';
import type { FeaturesConfig } from '../features/features-config.js';
import { featureRefs } from '../features/views.js';
import { buildWindowTables } from '../features/window-table.js';
import { labelPoints, type PointGrid } from '../labels/label-points.js';
import { readTimelines } from '../labels/read-timelines.js';
import { buildCatalog } from '../medallion/catalog-config.js';
import { buildTrainingSet, splitPatients } from '../pipeline/training-set.js';
import { type AdverseEventsConfig, featuresSection } from './job-config.js';
import { lakeHolds, onLakeBranch } from './lake-branch.js';

/** features: register the views (the config's, else the built-in ones) and build windowed tables. */
export const featuresStep = defineStep<AdverseEventsConfig, unknown>({
  name: 'features',
  version: 1,
  description:
    'Apply the feature views (config or built-in) and build windowed feature tables from silver, on a lake branch.',
  inputs: ['gold.lakeCommit'],
  outputs: ['lakeCommit', 'refs', 'views'],
  requires: ['feature-store', 'lake-store'],
  config: (c) => ({
    features: featuresSection(c) ?? null,
    measures: c.job.data.measures ?? null,
    signs: c.job.data.signs ?? null,
  }),
  stillValid: async (ctx, out) => lakeHolds(ctx.port('lake-store'), out.lakeCommit),
  async run(ctx, inputs) {
    const lake = ctx.port('lake-store');
    const store = ctx.port('feature-store');
    const { features, measures, signs } = ctx.config as {
      features: FeaturesConfig | null;
      measures: unknown;
      signs: unknown;
    };
    const catalog = buildCatalog({ measures: measures ?? undefined, signs: signs ?? undefined });
    const definitions = compileFeatureDefinitions(features ?? undefined, catalog);
    await store.apply(definitions.views);
    let lakeCommit = inputs['gold.lakeCommit'] as string;
    if (definitions.windowed.length > 0) {
      lakeCommit = await onLakeBranch(
        lake,
        {
          name: 'features',
          from: lakeCommit,
          message: `features: ${definitions.windowed.map((w) => `${w.view.name}@${w.view.version}`).join(', ')}`,
          runId: ctx.runId,
        },
        async (branch) => {
          await buildWindowTables({ lake, branch, windowed: definitions.windowed, scratch: ctx.scratch });
        },
      );
    }
    return {
      lakeCommit,
      refs: featureRefs(definitions.views),
      views: definitions.views.map((v) => `${v.name}@${v.version}`),
    };
  },
});

type LabelSlice = Pick<AdverseEventsConfig['job'], 'label' | 'points'>;

/** label: prediction points and labels from the configured outcome, horizon and grid (censoring counted). */
export const labelStep = defineStep<AdverseEventsConfig, LabelSlice>({
  name: 'label',
  version: 2,
  description:
    'Prediction points and labels from silver: outcome predicate, horizon, grid; censored points excluded and counted.',
  inputs: ['gold.lakeCommit'],
  outputs: ['entities', 'counts', 'end', 'horizonMs', 'sites'],
  requires: ['lake-store'],
  config: (c) => ({ label: c.job.label, points: c.job.points }),
  async run(ctx, inputs) {
    const { label, points } = ctx.config;
    const ms = (d: string | number) => durationSeconds(d)! * 1000;
    const timelines = await readTimelines({
      lake: ctx.port('lake-store'),
      ref: inputs['gold.lakeCommit'] as string,
      scratch: ctx.scratch,
      outcome: label.outcome,
      ...(points.observation ? { observation: points.observation } : {}),
    });
    const grid: PointGrid =
      points.grid === 'offsets'
        ? { grid: 'offsets', offsetsMs: (points.offsets ?? []).map(ms) }
        : { grid: points.grid, warmupMs: ms(points.warmup) };
    const horizonMs = ms(label.horizon);
    const { entities, counts } = labelPoints(timelines, grid, horizonMs);
    const end = timelines.reduce((m, t) => Math.max(m, t.lastSeen.getTime()), 0);
    return {
      entities: {
        patientIds: entities.map((e) => e.patientId),
        at: Float64Array.from(entities, (e) => e.at.getTime()),
        labels: Uint8Array.from(entities, (e) => e.label),
      },
      counts,
      end: new Date(end),
      horizonMs,
      sites: Object.fromEntries(timelines.map((t) => [t.patientId, t.siteId])),
    };
  },
});

export interface EntityColumns {
  patientIds: string[];
  at: Float64Array;
  labels: Uint8Array;
}

export interface PatientSplit {
  test: string[];
  validation: string[];
  train: string[];
}

/**
 * The test patients are fixed by a hash of the patient id and the seed, so they never
 * depend on which other patients are present; validation and train split the rest.
 */
function splitBy(patientIds: string[], testFraction: number, seed: number): PatientSplit {
  const ids = [...new Set(patientIds)].sort();
  const bucket = (id: string) =>
    createHash('sha256').update(`${seed}:${id}`).digest().readUInt32BE(0) / 0x1_0000_0000;
  const test = ids.filter((id) => bucket(id) < testFraction);
  const rest = ids.filter((id) => bucket(id) >= testFraction);
  const [validation, train] = splitPatients(rest, [0.15 / (1 - testFraction)], seed) as [string[], string[]];
  return { test, validation, train };
}

/** training-set: point-in-time features for every labelled point, and the patient split. */
export const trainingSetStep = defineStep<AdverseEventsConfig, { seed: number; testFraction: number }>({
  name: 'training-set',
  version: 2,
  description:
    'Point-in-time join of the feature views at the lake commit for every labelled point; patient-grouped split.',
  inputs: ['features.lakeCommit', 'features.refs', 'label.entities', 'label.sites'],
  outputs: ['dataset', 'split', 'sites'],
  requires: ['feature-store'],
  config: (c) => ({ seed: c.seed, testFraction: c.job.testFraction }),
  async run(ctx, inputs) {
    const e = inputs['label.entities'] as EntityColumns;
    const entities = e.patientIds.map((patientId, i) => ({
      patientId,
      at: new Date(e.at[i]!),
      label: e.labels[i] as 0 | 1,
    }));
    const dataset = await buildTrainingSet({
      store: ctx.port('feature-store'),
      entities,
      features: inputs['features.refs'] as FeatureRef[],
      ref: inputs['features.lakeCommit'] as string,
    });
    return {
      dataset: { ...dataset, at: e.at },
      split: splitBy(e.patientIds, ctx.config.testFraction, ctx.config.seed),
      sites: inputs['label.sites'] as Record<string, string>,
    };
  },
});

/** A stored training set back as a TrainingSet (with its prediction times). */
export type StoredDataset = TrainingSet & { at: Float64Array };
