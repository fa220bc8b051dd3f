import { createRng, expectedCalibrationError, type TrainingSet } from '@vigil/core';
import { ensureSklearn, runSklearn, SKLEARN_VERSION } from '@vigil/core/testing';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeTrainer } from '../node-trainer.js';
import { compileArtifact } from '../scoring/compile-artifact.js';
import { syntheticSet } from '../testing/synthetic-set.js';
import { calibratedProbability } from './calibrator.js';
import { fitIsotonic } from './isotonic.js';
import { fitPlatt } from './platt.js';

const signal = (r: number[], rng: { normal(): number }) =>
  r[0]! - 0.7 * r[1]! + 0.5 * r[2]! * r[3]! + rng.normal() > 0.3;
const train = syntheticSet(81, 1500, 5, signal, { nanRate: 0.1 });
const validation = syntheticSet(82, 900, 5, signal, { nanRate: 0.1 });
const heldOut = syntheticSet(83, 2000, 5, signal, { nanRate: 0.1 });
const trainer = new NodeTrainer();

const REFERENCE = `
import json, sys
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression

class Echo(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose decision function is the score it is given (column 0)."""
    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self
    def decision_function(self, X):
        return np.asarray(X, dtype=np.float64)[:, 0]
    def predict(self, X):
        return (self.decision_function(X) > 0).astype(np.int64)

out = []
for c in json.load(open(sys.argv[1])):
    s = np.array(c['scores'], dtype=np.float64)
    y = np.array(c['labels'], dtype=np.int64)
    probe = np.array(c['probe'], dtype=np.float64)
    X = s.reshape(-1, 1)
    cal = CalibratedClassifierCV(FrozenEstimator(Echo().fit(X, y)), method='sigmoid').fit(X, y)
    sig = cal.calibrated_classifiers_[0].calibrators[0]
    iso = IsotonicRegression(out_of_bounds='clip').fit(s, y)
    out.append({
        'a': float(sig.a_), 'b': float(sig.b_),
        'plattProbe': cal.predict_proba(probe.reshape(-1, 1))[:, 1].tolist(),
        'isoX': iso.X_thresholds_.tolist(), 'isoY': iso.y_thresholds_.tolist(),
        'isoProbe': iso.predict(probe).tolist(),
    })
json.dump(out, sys.stdout)
`;

interface Case {
  name: string;
  scores: number[];
  labels: number[];
  probe: number[];
}

interface Reference {
  a: number;
  b: number;
  plattProbe: number[];
  isoX: number[];
  isoY: number[];
  isoProbe: number[];
}

/** Validation scores of an uncalibrated model: what the trainer fits its calibrator on. */
async function modelScores(algorithm: string, params: Record<string, number | string>): Promise<number[]> {
  const { artifact } = await trainer.train(train, { algorithm, params, seed: 3 }, { validation });
  return Array.from(compileArtifact(artifact).rawScore(validation.x, validation.y.length));
}

function probeFor(scores: number[]): number[] {
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const probe = [lo - 1, hi + 1, lo, hi, ...scores.slice(0, 25)];
  for (let k = 0; k <= 40; k++) probe.push(lo + ((hi - lo) * k) / 40);
  return probe;
}

describe(`calibrators against scikit-learn ${SKLEARN_VERSION}`, () => {
  const cases: Case[] = [];
  let reference: Reference[] = [];
  let skipReason: string | undefined;

  beforeAll(async () => {
    const labels = Array.from(validation.y);
    const add = (name: string, scores: number[], y = labels) =>
      cases.push({ name, scores, labels: y, probe: probeFor(scores) });
    add('gbt logits', await modelScores('gbt', { nEstimators: 60, learningRate: 0.2 }));
    add('logistic logits', await modelScores('logistic', {}));
    add('cart leaf probabilities (many ties)', await modelScores('cart', { minSamplesLeaf: 15 }));
    // Scores on a coarse grid (ties), some beyond |30| (sklearn rescales those).
    const rng = createRng(5);
    const y: number[] = [];
    const grid: number[] = [];
    for (let i = 0; i < 700; i++) {
      const label = rng.next() < 0.3 ? 1 : 0;
      y.push(label);
      grid.push(Math.round((label ? 12 : -6) + 20 * rng.normal()) / 2);
    }
    add('large scores on a 0.5 grid', grid, y);
    skipReason = await ensureSklearn();
    if (!skipReason) reference = await runSklearn<Reference[]>(REFERENCE, cases);
  }, 600_000);

  for (const [k, name] of [
    'gbt logits',
    'logistic logits',
    'cart leaf probabilities (many ties)',
    'large scores on a 0.5 grid',
  ].entries()) {
    it(`${name}: Platt within 1e-4, isotonic within 1e-9`, (ctx) => {
      if (skipReason) {
        console.warn(`SKIPPED sklearn calibration parity: ${skipReason}`);
        ctx.skip(skipReason);
      }
      const c = cases[k]!;
      expect(c.name).toBe(name);
      const r = reference[k]!;
      const platt = fitPlatt(c.scores, c.labels);
      expect(Math.abs(platt.a - r.a)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(platt.b - r.b)).toBeLessThanOrEqual(1e-4);
      c.probe.forEach((s, i) => {
        expect(Math.abs(calibratedProbability(platt, s) - r.plattProbe[i]!)).toBeLessThanOrEqual(1e-4);
      });
      const iso = fitIsotonic(c.scores, c.labels);
      expect(iso.x.length).toBe(r.isoX.length);
      let knotDiff = 0;
      iso.x.forEach((x, i) => {
        knotDiff = Math.max(knotDiff, Math.abs(x - r.isoX[i]!), Math.abs(iso.y[i]! - r.isoY[i]!));
      });
      expect(knotDiff).toBeLessThanOrEqual(1e-9);
      c.probe.forEach((s, i) => {
        expect(Math.abs(calibratedProbability(iso, s) - r.isoProbe[i]!)).toBeLessThanOrEqual(1e-9);
      });
    });
  }
});

async function runtimeProbabilities(bytes: Uint8Array, set: TrainingSet): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const rows = set.y.length;
    const d = set.featureNames.length;
    const out = await session.run({ input: new ort.Tensor('float32', set.x, [rows, d]) });
    const p = out.probabilities!.data as Float32Array;
    return Float32Array.from({ length: rows }, (_, i) => p[2 * i + 1]!);
  } finally {
    await session.release();
  }
}

describe('calibration inside the exported graph', () => {
  for (const algorithm of ['gbt', 'logistic', 'cart'] as const) {
    for (const method of ['platt', 'isotonic'] as const) {
      it(`${algorithm} + ${method}: fitted on options.validation; onnxruntime equals the TS calibrated prediction to 1e-5`, async () => {
        const params: Record<string, number> =
          algorithm === 'gbt' ? { nEstimators: 60, learningRate: 0.2 } : {};
        const plain = await trainer.train(train, { algorithm, params, seed: 3 }, { validation });
        const calibrated = await trainer.train(
          train,
          { algorithm, params: { ...params, calibration: method }, seed: 3 },
          { validation },
        );
        expect(calibrated.params.calibration).toBe(method);
        // The calibrator is fitted on the uncalibrated model's validation scores.
        const valScores = compileArtifact(plain.artifact).rawScore(validation.x, validation.y.length);
        const calibrator =
          method === 'platt' ? fitPlatt(valScores, validation.y) : fitIsotonic(valScores, validation.y);
        if (calibrator.method === 'platt') {
          expect(calibrated.metrics.platt_a).toBe(calibrator.a);
          expect(calibrated.metrics.platt_b).toBe(calibrator.b);
        } else {
          expect(calibrated.metrics.isotonic_knots).toBe(calibrator.x.length);
        }
        // Held-out rows: the graph's output against the float64 calibrator applied to the model's score.
        const rows = heldOut.y.length;
        const raw = compileArtifact(plain.artifact).rawScore(heldOut.x, rows);
        const runtime = await runtimeProbabilities(calibrated.artifact.bytes, heldOut);
        const predicted = await trainer.predict(calibrated.artifact, heldOut.x, rows);
        let maxDiff = 0;
        for (let i = 0; i < rows; i++) {
          const expected = calibratedProbability(calibrator, raw[i]!);
          maxDiff = Math.max(
            maxDiff,
            Math.abs(runtime[i]! - expected),
            Math.abs(predicted[i]! - runtime[i]!),
          );
        }
        expect(maxDiff).toBeLessThanOrEqual(1e-5);
        // Calibration changed the scores.
        const uncalibrated = await trainer.predict(plain.artifact, heldOut.x, rows);
        expect(uncalibrated.some((p, i) => Math.abs(p - predicted[i]!) > 1e-3)).toBe(true);
      });
    }
  }

  it('lowers held-out ECE of a miscalibrated model (Platt and isotonic)', async () => {
    // Eight small boosting steps: scores still huddle around the base rate (underconfident).
    const params = { nEstimators: 8, learningRate: 0.05 };
    const rows = heldOut.y.length;
    const ece: Record<string, number> = {};
    for (const calibration of ['none', 'platt', 'isotonic']) {
      const { artifact, metrics } = await trainer.train(
        train,
        { algorithm: 'gbt', params: { ...params, calibration }, seed: 3 },
        { validation },
      );
      ece[calibration] = expectedCalibrationError(
        await trainer.predict(artifact, heldOut.x, rows),
        heldOut.y,
      );
      if (calibration !== 'none') expect(metrics.val_ece).toBeLessThan(metrics.val_ece_uncalibrated!);
    }
    expect(ece.none).toBeGreaterThan(0.1);
    expect(ece.platt).toBeLessThan(ece.none! / 2);
    expect(ece.isotonic).toBeLessThan(ece.none! / 2);
  });

  it('same data, params and seed give byte-identical calibrated ONNX', async () => {
    for (const [algorithm, params] of [
      ['gbt', { nEstimators: 30, subsample: 0.7, colsample: 0.6, calibration: 'platt' }],
      ['gbt', { nEstimators: 30, subsample: 0.7, colsample: 0.6, calibration: 'isotonic' }],
      ['logistic', { calibration: 'isotonic' }],
      ['cart', { calibration: 'platt' }],
      ['cart', { calibration: 'isotonic' }],
    ] as const) {
      const copy = (s: TrainingSet): TrainingSet => ({
        ...s,
        x: Float32Array.from(s.x),
        y: Uint8Array.from(s.y),
      });
      const a = await trainer.train(
        copy(train),
        { algorithm, params, seed: 9 },
        { validation: copy(validation) },
      );
      const b = await trainer.train(
        copy(train),
        { algorithm, params, seed: 9 },
        { validation: copy(validation) },
      );
      expect(
        Buffer.from(a.artifact.bytes).equals(Buffer.from(b.artifact.bytes)),
        `${algorithm} ${params.calibration}`,
      ).toBe(true);
      expect(a.artifact.sha256).toBe(b.artifact.sha256);
    }
  });

  it('refuses calibration without a validation set, or with one class in it', async () => {
    await expect(
      trainer.train(train, { algorithm: 'cart', params: { calibration: 'platt' }, seed: 1 }),
    ).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_INVALID_SPEC',
      message: expect.stringMatching(/calibration.*validation/),
    });
    const oneClass = { ...validation, y: new Uint8Array(validation.y.length) };
    await expect(
      trainer.train(
        train,
        { algorithm: 'gbt', params: { calibration: 'isotonic' }, seed: 1 },
        { validation: oneClass },
      ),
    ).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_INVALID_DATASET',
      message: expect.stringMatching(/validation\.y/),
    });
    await expect(
      trainer.train(train, { algorithm: 'gbt', params: { calibration: 'beta' }, seed: 1 }),
    ).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_INVALID_SPEC',
      message: expect.stringMatching(/calibration.*'platt'/),
    });
  });
});
