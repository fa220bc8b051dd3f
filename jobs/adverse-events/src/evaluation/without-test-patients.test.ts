import { createHash } from 'node:crypto';
import type { FeatureStore, HistoricalRequest, StepContext, TrainingSet } from '@vigil/core';
import { createRng, VigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { type PatientSplit, type StoredDataset, trainingSetStep } from '../steps/feature-steps.js';
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
