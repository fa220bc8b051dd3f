import { createHash } from 'node:crypto';
import type {
  FeatureStore,
  HistoricalRequest,
  ModelArtifact,
  StepContext,
  Trainer,
  TrainingSet,
} from '@vigil/core';
import { createRng, VigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { type PatientSplit, type StoredDataset, trainingSetStep } from '../steps/feature-steps.js';
import { paramRangeSchema } from '../tuning/search-space.js';
import { nestedTuning, type TuneSettings, tuneOnFolds } from '../tuning/tuner.js';
import { groupedStratifiedFolds, nestedGroupedFolds } from './grouped-folds.js';
import { nonTestRows, withoutTestPatients } from './without-test-patients.js';

const SEED = 20260;
const TEST_FRACTION = 0.2;

/** Labelled points for `patients` patients, 2–12 points each, in the step's input shape. */
function labelEntities(patients: number, seed: number) {
  const rng = createRng(seed);
  const patientIds: string[] = [];
  const at: number[] = [];
  const labels: number[] = [];
  for (let p = 0; p < patients; p++) {
    const everPositive = rng.next() < 0.25;
    const points = 2 + rng.int(11);
    for (let k = 0; k < points; k++) {
      patientIds.push(`pt-${(p * 7919) % 10007}`);
      at.push(Date.UTC(2026, 0, 1) + k * 86_400_000);
      labels.push(everPositive && rng.next() < 0.4 ? 1 : 0);
    }
  }
  return { patientIds, at: Float64Array.from(at), labels: Uint8Array.from(labels) };
}

/**
 * Runs the lead's real training-set step (its splitBy picks the test patients). The
 * feature store answers the point-in-time join with one empty feature row per entity:
 * the join is not what this test is about, the split is.
 */
async function trainingSetOf(entities: ReturnType<typeof labelEntities>) {
  const store = {
    async getHistoricalFeatures(request: HistoricalRequest) {
      return { rows: request.entityRows.map((r) => ({ ...r })), lakeCommit: 'c0', featureViews: [] };
    },
  } as unknown as FeatureStore;
  const ctx = {
    config: { seed: SEED, testFraction: TEST_FRACTION },
    port: () => store,
  } as unknown as StepContext<{ seed: number; testFraction: number }>;
  const out = (await trainingSetStep.run(ctx as never, {
    'label.entities': entities,
    'features.refs': [],
    'features.lakeCommit': 'c0',
  })) as { dataset: StoredDataset; split: PatientSplit };
  return out;
}

/** The hash rule, written out independently: sha256("seed:id"), first 4 bytes / 2³² < testFraction. */
const isTestPatient = (id: string) =>
  createHash('sha256').update(`${SEED}:${id}`).digest().readUInt32BE(0) / 2 ** 32 < TEST_FRACTION;

describe('test patients never reach CV or tuning', () => {
  it('the split’s test patients are the hash-selected ones, whoever else is present', async () => {
    const entities = labelEntities(240, 1);
    const { split } = await trainingSetOf(entities);
    const ids = [...new Set(entities.patientIds)];
    expect(new Set(split.test)).toEqual(new Set(ids.filter(isTestPatient)));
    expect(split.test.length).toBeGreaterThan(20);
    // drop every other patient: the remaining ones keep their test membership
    const keep = new Set(ids.filter((_, i) => i % 2 === 0));
    const rows = entities.patientIds.map((p, i) => (keep.has(p) ? i : -1)).filter((i) => i >= 0);
    const fewer = await trainingSetOf({
      patientIds: rows.map((i) => entities.patientIds[i]!),
      at: Float64Array.from(rows, (i) => entities.at[i]!),
      labels: Uint8Array.from(rows, (i) => entities.labels[i]!),
    });
    expect(new Set(fewer.split.test)).toEqual(new Set(split.test.filter((p) => keep.has(p))));
  });

  it('withoutTestPatients keeps exactly the train and validation rows, in order, with their features and times', async () => {
    const { dataset, split } = await trainingSetOf(labelEntities(240, 2));
    const rest = withoutTestPatients(dataset, split);
    const test = new Set(split.test);
    const expected = dataset.groups.map((g, i) => (test.has(g) ? -1 : i)).filter((i) => i >= 0);
    expect(nonTestRows(dataset.groups, split)).toEqual(expected);
    expect(rest.groups).toEqual(expected.map((i) => dataset.groups[i]));
    expect(Array.from(rest.y)).toEqual(expected.map((i) => dataset.y[i]));
    expect(Array.from(rest.at)).toEqual(expected.map((i) => dataset.at[i]));
    expect(rest.x.length).toBe(expected.length * dataset.featureNames.length);
    expect(new Set(rest.groups)).toEqual(new Set([...split.train, ...split.validation]));
    // features travel with their row
    const d = 2;
    const set: TrainingSet = {
      featureNames: ['a', 'b'],
      x: Float32Array.from({ length: dataset.groups.length * d }, (_, k) => k),
      y: dataset.y,
      groups: dataset.groups,
      lineage: dataset.lineage,
    };
    const sub = withoutTestPatients(set, split);
    expected.forEach((src, dst) => {
      expect(sub.x[dst * d]).toBe(src * d);
      expect(sub.x[dst * d + 1]).toBe(src * d + 1);
    });
  });

  it.each([false, true])(
    'no test patient in any CV fold or nested tuning fold (site-grouped: %s)',
    async (siteGrouped) => {
      const { dataset, split } = await trainingSetOf(labelEntities(300, 3));
      const rest = withoutTestPatients(dataset, split);
      const sites = rest.groups.map((g) => `site-${Number.parseInt(g.slice(3), 10) % 9}`);
      const test = new Set(split.test);
      const noTestPatient = (rows: number[]) => rows.every((i) => !test.has(rest.groups[i]!));

      const cv = groupedStratifiedFolds(rest.groups, rest.y, {
        k: 5,
        seed: SEED,
        sites,
        siteGrouped,
        testPatients: split.test,
      });
      for (const s of cv.splits) {
        expect(noTestPatient(s.train)).toBe(true);
        expect(noTestPatient(s.test)).toBe(true);
      }
      for (const p of cv.patientFold.keys()) expect(test.has(p)).toBe(false);

      const nested = nestedGroupedFolds(rest.groups, rest.y, {
        outerK: 4,
        innerK: 3,
        seed: SEED,
        sites,
        siteGrouped,
        testPatients: split.test,
      });
      let innerRows = 0;
      for (const outer of nested.folds) {
        expect(noTestPatient(outer.train) && noTestPatient(outer.test)).toBe(true);
        for (const inner of outer.inner) {
          expect(noTestPatient(inner.train) && noTestPatient(inner.test)).toBe(true);
          innerRows += inner.test.length;
        }
      }
      // every non-test row is in CV (each outer training row is in one inner test fold per outer fold)
      expect(innerRows).toBe(rest.groups.length * (4 - 1));
    },
  );

  it('the folds refuse rows that still hold test patients', async () => {
    const { dataset, split } = await trainingSetOf(labelEntities(120, 4));
    const attempt = () =>
      groupedStratifiedFolds(dataset.groups, dataset.y, { k: 5, seed: 1, testPatients: split.test });
    expect(attempt).toThrow(VigilError);
    expect(attempt).toThrow(/belong to held-out test patients/);
    expect(() =>
      nestedGroupedFolds(dataset.groups, dataset.y, {
        outerK: 3,
        innerK: 2,
        seed: 1,
        testPatients: split.test,
      }),
    ).toThrow(/withoutTestPatients/);
  });
});

/**
 * A trainer that records which patients cross the port: every training and validation set it
 * is given, and (from the one feature, the patient's number) every set it is asked to score.
 * Scores are a hash of patient and params, so studies have something to rank. It stands in
 * for a model only: what is checked here is the data the tuning code hands the trainer
 * (test/e2e/tune.test.ts runs the same code with the real in-process trainer).
 */
function recordingTrainer() {
  const calls: { kind: 'train' | 'validation' | 'predict'; patients: Set<string>; tag: string }[] = [];
  let tag = '';
  const trainer: Trainer = {
    capabilities: { gpu: false, algorithms: ['gbt'], cancellable: true, explain: false },
    async train(data, spec, options) {
      calls.push({ kind: 'train', patients: new Set(data.groups), tag });
      if (options?.validation)
        calls.push({ kind: 'validation', patients: new Set(options.validation.groups), tag });
      const artifact: ModelArtifact = {
        format: 'onnx',
        bytes: new Uint8Array(),
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1] }],
        outputs: [],
        featureNames: data.featureNames,
        sha256: JSON.stringify(spec.params),
      };
      return { artifact, metrics: {}, params: spec.params };
    },
    async predict(artifact, x, rows) {
      const patients = Array.from(x.subarray(0, rows), (v) => `pt-${v}`);
      calls.push({ kind: 'predict', patients: new Set(patients), tag });
      return Float32Array.from(
        patients,
        (p) =>
          Number.parseInt(
            createHash('sha256').update(`${artifact.sha256}${p}`).digest('hex').slice(0, 8),
            16,
          ) /
          2 ** 32,
      );
    },
    async close() {},
  };
  return { trainer, calls, setTag: (t: string) => (tag = t) };
}

const SETTINGS: TuneSettings = {
  algorithm: 'gbt',
  base: {},
  seed: SEED,
  trials: 5,
  sampler: 'tpe',
  scheduler: 'asha',
  concurrency: 2,
  space: { learningRate: paramRangeSchema.parse({ low: 0.01, high: 0.3, log: true }) },
  resource: { min: 1, max: 9, eta: 3 },
  resourceParam: 'nEstimators',
  tpe: { startupTrials: 2, candidates: 8, gamma: 0.25, priorWeight: 1 },
};

const disjoint = (a: Set<string>, b: Set<string>) => [...a].every((p) => !b.has(p));
const union = (sets: Set<string>[]) => new Set(sets.flatMap((s) => [...s]));

/** The training set with one feature, the patient's number, so a scoring call shows whose rows it scores. */
async function numberedSet(patients: number, seed: number) {
  const { dataset, split } = await trainingSetOf(labelEntities(patients, seed));
  const set: StoredDataset = {
    ...dataset,
    featureNames: ['patient_number'],
    x: Float32Array.from(dataset.groups, (g) => Number.parseInt(g.slice(3), 10)),
  };
  return { set, split, rest: withoutTestPatients(set, split) };
}

describe('test patients never reach tuning, plain or nested (what reaches the trainer)', () => {
  it('plain tuning: every train, validation and scoring set is free of test patients, and each scoring fold disjoint from its training', async () => {
    const { split, rest } = await numberedSet(200, 5);
    const folds = groupedStratifiedFolds(rest.groups, rest.y, { k: 3, seed: SEED, testPatients: split.test });
    const spy = recordingTrainer();
    await tuneOnFolds(spy.trainer, rest, folds.splits, { ...SETTINGS, concurrency: 1 });
    const test = new Set(split.test);
    expect(spy.calls.length).toBeGreaterThan(20);
    for (const c of spy.calls) expect(disjoint(c.patients, test)).toBe(true);
    // sequential: train, validation, predict triples; the scored fold shares no patient with the fitted ones
    for (let i = 0; i < spy.calls.length; i += 3) {
      const [train, validation, predict] = spy.calls.slice(i, i + 3);
      expect([train!.kind, validation!.kind, predict!.kind]).toEqual(['train', 'validation', 'predict']);
      expect(disjoint(train!.patients, validation!.patients)).toBe(true);
      expect(disjoint(predict!.patients, union([train!.patients, validation!.patients]))).toBe(true);
    }
    // the scored sets are the 3 folds: pairwise disjoint, together every non-test patient
    const scored = [
      ...new Map(
        spy.calls.filter((c) => c.kind === 'predict').map((c) => [[...c.patients].sort().join(), c.patients]),
      ).values(),
    ];
    expect(scored).toHaveLength(3);
    for (let a = 0; a < 3; a++)
      for (let b = a + 1; b < 3; b++) expect(disjoint(scored[a]!, scored[b]!)).toBe(true);
    expect(union(scored)).toEqual(new Set(rest.groups));
  });

  it('nested tuning: no test patient anywhere; an outer fold’s test patients never reach its tuning; no patient in two inner or two outer folds', async () => {
    const { split, rest } = await numberedSet(240, 6);
    const nested = nestedGroupedFolds(rest.groups, rest.y, {
      outerK: 3,
      innerK: 3,
      seed: SEED,
      testPatients: split.test,
    });
    const spy = recordingTrainer();
    const result = await nestedTuning(spy.trainer, rest, nested, SETTINGS, {
      forFold: (fold) => {
        spy.setTag(`outer-${fold}`);
        return {};
      },
    });
    expect(result.folds).toBe(3);
    expect(result.aurocs.every((a) => a !== null)).toBe(true);
    const test = new Set(split.test);
    for (const c of spy.calls) expect(disjoint(c.patients, test)).toBe(true);

    const patientsOf = (rows: readonly number[]) => new Set(rows.map((i) => rest.groups[i]!));
    const outerTests = nested.folds.map((f) => patientsOf(f.test));
    // outer folds: disjoint, together all non-test patients
    for (let a = 0; a < 3; a++)
      for (let b = a + 1; b < 3; b++) expect(disjoint(outerTests[a]!, outerTests[b]!)).toBe(true);
    expect(union(outerTests)).toEqual(new Set(rest.groups));

    for (const f of nested.folds) {
      const calls = spy.calls.filter((c) => c.tag === `outer-${f.fold}`);
      const outerTrain = patientsOf(f.train);
      const outerTest = outerTests[f.fold]!;
      // the refit scores the outer test part exactly once; nothing else of this fold touches it
      const refit = calls.filter((c) => c.kind === 'predict' && !disjoint(c.patients, outerTest));
      expect(refit).toHaveLength(1);
      expect(refit[0]!.patients).toEqual(outerTest);
      const tuning = calls.filter((c) => c !== refit[0]);
      for (const c of tuning) expect(disjoint(c.patients, outerTest)).toBe(true);
      for (const c of tuning) for (const p of c.patients) expect(outerTrain.has(p)).toBe(true);
      // inner scoring sets: the inner folds, disjoint, covering the outer training part
      const inner = [
        ...new Map(
          tuning.filter((c) => c.kind === 'predict').map((c) => [[...c.patients].sort().join(), c.patients]),
        ).values(),
      ];
      expect(inner).toHaveLength(3);
      for (let a = 0; a < 3; a++)
        for (let b = a + 1; b < 3; b++) expect(disjoint(inner[a]!, inner[b]!)).toBe(true);
      expect(union(inner)).toEqual(outerTrain);
    }
  });
});
