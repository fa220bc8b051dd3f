import {
  auroc,
  aurocCi,
  averagePrecision,
  brierScore,
  calibrationCurve,
  currentChampion,
  defineStep,
  expectedCalibrationError,
  type FeatureStore,
  logFallback,
  logModel,
  type ModelArtifact,
  pairedAurocDelta,
  precisionRecallAt,
  promote,
  type Registry,
  thresholdForRecall,
  versionArtifact,
} from '@vigil/core';
import { DEFAULT_PARAMS } from '../config.js';
import { groupedStratifiedFolds } from '../evaluation/grouped-folds.js';
import { withoutTestPatients } from '../evaluation/without-test-patients.js';
import { splitPatients, subset } from '../pipeline/training-set.js';
import type { PatientSplit, StoredDataset } from './feature-steps.js';
import type { AdverseEventsConfig } from './job-config.js';
import { matrixFor, modelInput, testRows } from './model-inputs.js';

type ModelSlice = {
  algorithm: string;
  params: Record<string, number | string | boolean>;
  seed: number;
  targetRecall: number;
  samples: number;
  fallback: { algorithm: string; params: Record<string, number | string | boolean> } | false;
};

/** What training depends on: the algorithm, its params (or their defaults), the seed, evaluation settings. */
function modelSlice(c: AdverseEventsConfig): ModelSlice {
  return {
    algorithm: c.job.model.algorithm,
    params: c.job.model.params ?? DEFAULT_PARAMS[c.job.model.algorithm] ?? {},
    seed: c.seed,
    targetRecall: c.job.model.targetRecall,
    samples: c.job.model.gate.samples,
    fallback: c.job.model.fallback,
  };
}

/** Held-out evaluation: discrimination with a CI, calibration, and the operating point chosen on validation. */
export interface Evaluation {
  auroc: number;
  aurocCi: { lower: number; upper: number; level: number; samples: number } | null;
  auprc: number | null;
  brier: number;
  ece: number;
  calibration: { meanPredicted: number; observedRate: number; count: number }[];
  operatingPoint: {
    targetRecall: number;
    threshold: number;
    validation: { precision: number | null; recall: number | null };
    test: { precision: number | null; recall: number | null };
  } | null;
}

/** train: fit on the training patients, early-stop on validation patients, score the held-out test patients. */
export const trainStep = (tuned: boolean) =>
  defineStep<AdverseEventsConfig, ModelSlice>({
    name: 'train',
    version: 2,
    description:
      'Train on training patients (early stopping on validation patients); AUROC on held-out test patients.',
    inputs: ['training-set.dataset', 'training-set.split', ...(tuned ? ['tune.best'] : [])],
    outputs: ['model', 'metrics', 'params', 'testAuroc', 'rows', 'evaluation', 'testScores', 'fallback'],
    requires: ['trainer'],
    // The in-process trainer works on the main thread: its steps take turns.
    pool: 'trainer',
    config: modelSlice,
    async run(ctx, inputs) {
      const trainer = ctx.port('trainer');
      const dataset = inputs['training-set.dataset'] as StoredDataset;
      const split = inputs['training-set.split'] as PatientSplit;
      const train = subset(dataset, new Set(split.train));
      const validation = subset(dataset, new Set(split.validation));
      const test = subset(dataset, new Set(split.test));
      const best = inputs['tune.best'] as { params: Record<string, number | string | boolean> } | undefined;
      const params = best ? best.params : ctx.config.params;
      const result = await trainer.train(
        train,
        { algorithm: ctx.config.algorithm, params, seed: ctx.config.seed },
        {
          validation,
          signal: ctx.signal,
          onProgress: (p) => ctx.progress(Math.round(p.fraction * 1000), 1000, p.message),
        },
      );
      const scores = await trainer.predict(result.artifact, modelInput(result.artifact, test), test.y.length);
      const validationScores = await trainer.predict(
        result.artifact,
        modelInput(result.artifact, validation),
        validation.y.length,
      );
      const ci = aurocCi(scores, test.y, { seed: ctx.config.seed, samples: ctx.config.samples });
      const point = thresholdForRecall(validationScores, validation.y, ctx.config.targetRecall);
      const atTest = point ? precisionRecallAt(scores, test.y, point.threshold) : null;
      const evaluation: Evaluation = {
        auroc: auroc(scores, test.y) ?? Number.NaN,
        aurocCi: ci ? { lower: ci.lower, upper: ci.upper, level: ci.level, samples: ci.samples } : null,
        auprc: averagePrecision(scores, test.y),
        brier: brierScore(scores, test.y),
        ece: expectedCalibrationError(scores, test.y),
        calibration: calibrationCurve(scores, test.y).map((b) => ({
          meanPredicted: b.meanPredicted,
          observedRate: b.observedRate,
          count: b.count,
        })),
        operatingPoint:
          point && atTest
            ? {
                targetRecall: ctx.config.targetRecall,
                threshold: point.threshold,
                validation: { precision: point.precision, recall: point.recall },
                test: { precision: atTest.precision, recall: atTest.recall },
              }
            : null,
      };
      // The backup tree, on the current row's features only (a sequence model's last step).
      const backup = ctx.config.fallback;
      let fallback: { model: ModelArtifact; testAuroc: number | null } | null = null;
      if (backup && trainer.capabilities.algorithms.includes(backup.algorithm)) {
        const tree = await trainer.train(
          train,
          { algorithm: backup.algorithm, params: backup.params, seed: ctx.config.seed },
          { validation, signal: ctx.signal },
        );
        const treeScores = await trainer.predict(tree.artifact, test.x, test.y.length);
        fallback = { model: tree.artifact, testAuroc: auroc(treeScores, test.y) };
      } else if (backup) {
        ctx.logger.warn(
          { algorithm: backup.algorithm },
          'the trainer has no such algorithm: no fallback model',
        );
      }
      return {
        fallback,
        model: result.artifact,
        metrics: result.metrics,
        params: result.params,
        evaluation,
        testScores: scores,
        testAuroc: evaluation.auroc,
        rows: {
          train: train.y.length,
          validation: validation.y.length,
          test: test.y.length,
          testPatients: split.test.length,
        },
      };
    },
  });

type RegisterSlice = {
  name: string;
  experiment: string;
  minAuroc: number;
  algorithm: string;
  seed: number;
  gate: { margin: number; maxEce: number; samples: number };
};

/** What the gate decided, and on what evidence (also recorded on the version as `vigil.gate.*` tags). */
export interface GateDecision {
  /** first: no champion yet and the floor is met; promoted: beat the champion; refused: did not. */
  decision: 'first' | 'promoted' | 'refused';
  champion: string | null;
  challenger: string;
  /** Challenger AUROC − champion AUROC on the same held-out rows (null without a champion). */
  delta: number | null;
  /** paired: both models scored on the same held-out rows (each through its own feature views); none: no champion. */
  comparison: 'paired' | 'none';
  ci: [number, number] | null;
  pAboveMargin: number | null;
  ece: number;
  reasons: string[];
}

/**
 * The champion's scores on the challenger's held-out rows: on the same matrix when it reads the
 * same features, else on a point-in-time join of its own feature views for the same rows.
 */
async function championScores(
  registry: Registry,
  trainer: { predict(a: ModelArtifact, x: Float32Array, rows: number): Promise<Float32Array> },
  store: FeatureStore,
  champion: { name: string; version: string },
  challenger: ModelArtifact,
  test: { x: Float32Array; y: Uint8Array },
  rows: { patientIds: string[]; at: number[] },
  ref: string,
): Promise<Float32Array> {
  const theirs = await versionArtifact(registry, champion.name, champion.version, challenger);
  const same = JSON.stringify(theirs.featureNames) === JSON.stringify(challenger.featureNames);
  const x = same ? test.x : await matrixFor(store, theirs.featureNames, rows, ref);
  // A sequence champion reads each row after its patient's earlier held-out rows.
  return trainer.predict(
    theirs,
    modelInput(theirs, { x, groups: rows.patientIds, at: rows.at }),
    test.y.length,
  );
}

/**
 * register: log the training run and register a model version, then the champion/challenger
 * gate, enforced: the version becomes champion only when it has no champion to beat and meets
 * the floor, or beats the champion's AUROC by the margin on the same held-out patients (paired
 * bootstrap evidence recorded), with its ECE within bound.
 */
export const registerStep = defineStep<AdverseEventsConfig, RegisterSlice>({
  name: 'register',
  version: 3,
  description:
    'Log the training run, register a version, and gate it against the champion (same held-out patients).',
  inputs: [
    'train.model',
    'train.fallback',
    'train.metrics',
    'train.params',
    'train.evaluation',
    'train.testScores',
    'training-set.dataset',
    'training-set.split',
    'features.lakeCommit',
    'features.views',
  ],
  outputs: ['version', 'alias', 'trainingRunId', 'gate', 'served'],
  requires: ['registry', 'trainer', 'feature-store'],
  config: (c) => ({
    name: c.job.model.name,
    experiment: c.job.model.experiment,
    minAuroc: c.job.model.minAuroc,
    algorithm: c.job.model.algorithm,
    seed: c.seed,
    gate: c.job.model.gate,
  }),
  // A cached gate still holds while the version exists and the champion is the one it left:
  // the version itself when it was promoted, the champion it lost to when refused.
  stillValid: async (ctx, out) => {
    const registry = ctx.port('registry');
    const exists = await registry.getModelVersion(ctx.config.name, String(out.version)).then(
      () => true,
      () => false,
    );
    const champion = (await currentChampion(registry, ctx.config.name))?.version ?? null;
    return exists && champion === (out.served as string | null);
  },
  async run(ctx, inputs) {
    const registry = ctx.port('registry');
    const c = ctx.config;
    const model = inputs['train.model'] as ModelArtifact;
    const evaluation = inputs['train.evaluation'] as Evaluation;
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
    const metric = (key: string, value: number | null | undefined) =>
      value === null || value === undefined || Number.isNaN(value) ? [] : [{ key, value }];
    await registry.logMetrics(run.runId, [
      ...Object.entries(inputs['train.metrics'] as Record<string, number>).map(([key, value]) => ({
        key,
        value,
      })),
      ...metric('test_auroc', evaluation.auroc),
      ...metric('test_auroc_lower', evaluation.aurocCi?.lower),
      ...metric('test_auroc_upper', evaluation.aurocCi?.upper),
      ...metric('test_auprc', evaluation.auprc),
      ...metric('test_brier', evaluation.brier),
      ...metric('test_ece', evaluation.ece),
      ...metric('operating_threshold', evaluation.operatingPoint?.threshold),
      ...metric('test_precision_at_threshold', evaluation.operatingPoint?.test.precision),
      ...metric('test_recall_at_threshold', evaluation.operatingPoint?.test.recall),
    ]);
    await logModel(registry, run.runId, model);
    const fallback = inputs['train.fallback'] as { model: ModelArtifact; testAuroc: number | null } | null;
    if (fallback) await logFallback(registry, run.runId, fallback.model, fallback.testAuroc);
    await registry.logArtifact(
      run.runId,
      'evaluation.json',
      new TextEncoder().encode(JSON.stringify(evaluation, null, 2)),
    );
    await registry.endRun(run.runId, 'FINISHED');
    await registry.createRegisteredModel(c.name, {
      description: 'Outcome within the horizon, per prediction point.',
    });
    const version = await registry.createModelVersion({
      name: c.name,
      runId: run.runId,
      source: 'model/model.onnx',
      tags: { sha256: model.sha256, lakeCommit },
    });

    // The gate.
    const champion = await currentChampion(registry, c.name);
    const reasons: string[] = [];
    let gate: GateDecision;
    const eceOk = evaluation.ece <= c.gate.maxEce;
    if (!eceOk) reasons.push(`ECE ${evaluation.ece.toFixed(4)} > ${c.gate.maxEce}`);
    if (!champion) {
      const floorOk = evaluation.auroc >= c.minAuroc;
      if (!floorOk) reasons.push(`AUROC ${evaluation.auroc.toFixed(4)} < floor ${c.minAuroc}`);
      gate = {
        decision: floorOk && eceOk ? 'first' : 'refused',
        champion: null,
        challenger: version.version,
        delta: null,
        comparison: 'none',
        ci: null,
        pAboveMargin: null,
        ece: evaluation.ece,
        reasons,
      };
    } else {
      const dataset = inputs['training-set.dataset'] as StoredDataset;
      const split = inputs['training-set.split'] as PatientSplit;
      const test = subset(dataset, new Set(split.test));
      const scores = inputs['train.testScores'] as Float32Array;
      const rows = testRows(dataset, new Set(split.test));
      const theirs = await championScores(
        registry,
        ctx.port('trainer'),
        ctx.port('feature-store'),
        champion,
        model,
        test,
        rows,
        lakeCommit,
      );
      const paired = pairedAurocDelta(scores, theirs, test.y, {
        seed: c.seed,
        samples: c.gate.samples,
        margin: c.gate.margin,
      });
      const delta = paired?.delta ?? Number.NaN;
      const ci: [number, number] | null = paired ? paired.ci : null;
      const pAboveMargin = paired?.pAboveMargin ?? null;
      const comparison: GateDecision['comparison'] = 'paired';
      const beats = delta >= c.gate.margin;
      if (!beats)
        reasons.push(
          `AUROC delta ${Number.isNaN(delta) ? 'n/a' : delta.toFixed(4)} < margin ${c.gate.margin}`,
        );
      gate = {
        decision: beats && eceOk ? 'promoted' : 'refused',
        champion: champion.version,
        challenger: version.version,
        delta: Number.isNaN(delta) ? null : delta,
        comparison,
        ci,
        pAboveMargin,
        ece: evaluation.ece,
        reasons,
      };
    }
    const evidence: Record<string, string> = {
      'vigil.gate.decision': gate.decision,
      'vigil.gate.champion': gate.champion ?? 'none',
      'vigil.gate.comparison': gate.comparison,
      'vigil.gate.ece': String(gate.ece),
      ...(gate.delta === null ? {} : { 'vigil.gate.delta': String(gate.delta) }),
      ...(gate.ci ? { 'vigil.gate.ci': gate.ci.join(',') } : {}),
      ...(gate.pAboveMargin === null ? {} : { 'vigil.gate.pAboveMargin': String(gate.pAboveMargin) }),
      ...(gate.reasons.length ? { 'vigil.gate.reasons': gate.reasons.join('; ') } : {}),
    };
    if (gate.decision === 'refused') {
      for (const [key, value] of Object.entries(evidence))
        await registry.setModelVersionTag(c.name, version.version, key, value);
    } else {
      await promote(registry, c.name, version.version, evidence);
    }
    const served = gate.decision === 'refused' ? (champion?.version ?? null) : version.version;
    return {
      version: version.version,
      alias: gate.decision === 'refused' ? null : 'champion',
      trainingRunId: run.runId,
      gate,
      served,
    };
  },
});

type CvSlice = ModelSlice & { folds: number; siteGrouped: boolean };

/** Cross-validation summary: AUROC per fold on patients the fold's model never saw. */
export interface CvResult {
  folds: number;
  aurocs: (number | null)[];
  aurocMean: number | null;
  aurocSd: number | null;
}

/**
 * cross-validate: patient-grouped (optionally site-grouped) stratified k-fold CV of the
 * configured model on the non-test patients; each fold early-stops on 15 % of its own
 * training patients. The held-out test patients never reach it.
 */
export const crossValidateStep = defineStep<AdverseEventsConfig, CvSlice>({
  name: 'cross-validate',
  version: 1,
  description: 'Patient-grouped stratified k-fold CV on the non-test patients (AUROC mean and SD).',
  inputs: ['training-set.dataset', 'training-set.split', 'training-set.sites'],
  outputs: ['cv'],
  requires: ['trainer'],
  pool: 'trainer',
  config: (c) => ({ ...modelSlice(c), folds: c.job.model.cv.folds, siteGrouped: c.job.model.cv.siteGrouped }),
  async run(ctx, inputs) {
    const c = ctx.config;
    if (c.folds < 2)
      return { cv: { folds: 0, aurocs: [], aurocMean: null, aurocSd: null } satisfies CvResult };
    const trainer = ctx.port('trainer');
    const split = inputs['training-set.split'] as PatientSplit;
    const all = inputs['training-set.dataset'] as StoredDataset;
    const siteOf = inputs['training-set.sites'] as Record<string, string>;
    const rest = withoutTestPatients(all, split);
    const folds = groupedStratifiedFolds(rest.groups, rest.y, {
      k: c.folds,
      seed: c.seed,
      testPatients: split.test,
      ...(c.siteGrouped ? { siteGrouped: true, sites: rest.groups.map((g) => siteOf[g] ?? 'unknown') } : {}),
    });
    const aurocs: (number | null)[] = [];
    for (let fold = 0; fold < folds.k; fold++) {
      const testPatients = new Set([...folds.patientFold].filter(([, f]) => f === fold).map(([p]) => p));
      const trainPatients = [...folds.patientFold.keys()].filter((p) => !testPatients.has(p));
      const [validation, train] = splitPatients(trainPatients, [0.15], c.seed) as [string[], string[]];
      const result = await trainer.train(
        subset(rest, new Set(train)),
        { algorithm: c.algorithm, params: c.params, seed: c.seed },
        {
          validation: subset(rest, new Set(validation)),
          signal: ctx.signal,
          onProgress: (p) =>
            ctx.progress(
              Math.round(((fold + p.fraction) / folds.k) * 1000),
              1000,
              `fold ${fold + 1}/${folds.k}`,
            ),
        },
      );
      const test = subset(rest, testPatients);
      const scores = await trainer.predict(result.artifact, modelInput(result.artifact, test), test.y.length);
      aurocs.push(auroc(scores, test.y));
    }
    const ok = aurocs.filter((a): a is number => a !== null);
    const mean = ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
    const sd =
      mean !== null && ok.length > 1
        ? Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / (ok.length - 1))
        : null;
    return { cv: { folds: folds.k, aurocs, aurocMean: mean, aurocSd: sd } satisfies CvResult };
  },
});
