import { createRng, isVigilError, type ModelArtifact, type TrainingSet, toSequences } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { GBT_COVER_KEY, gbtOnnx } from '../gbt/gbt-onnx.js';
import type { RegressionTree } from '../gbt/regression-tree.js';
import { NodeTrainer } from '../node-trainer.js';
import { decodeOnnxModel } from '../onnx/onnx-codec.js';
import { compileArtifact } from '../scoring/compile-artifact.js';
import { mixedSequenceSet } from '../tcn/sequence-task.js';
import { bruteForceShapley, type ShapleyTrees, shapleyOfGame } from '../testing/brute-force-shapley.js';
import { clinicalLikeSet } from '../testing/clinical-like-set.js';
import { explainArtifact } from './explain-artifact.js';

const trainer = new NodeTrainer({ threads: 1 });

/**
 * The trees of a gbt/cart/ensemble artifact decoded here, independently of the explainer, with
 * their cover counted by walking `rows` rows of `x` (the training rows) through them.
 */
function truthTrees(artifact: ModelArtifact, x: Float32Array, rows: number): ShapleyTrees {
  const model = decodeOnnxModel(artifact.bytes);
  const node = model.nodes.find((n) => n.opType === 'TreeEnsembleRegressor')!;
  const get = (name: string) => node.attributes.get(name)!;
  const treeIds = get('nodes_treeids').ints!;
  const nodeIds = get('nodes_nodeids').ints!;
  const key = (t: number, n: number) => `${t}/${n}`;
  const at = new Map<string, number>();
  treeIds.forEach((t, i) => {
    at.set(key(t, nodeIds[i]!), i);
  });
  const n = treeIds.length;
  const modes = get('nodes_modes').strings!;
  const feature = modes.map((m, i) => (m === 'LEAF' ? -1 : get('nodes_featureids').ints![i]!));
  const left = feature.map((f, i) =>
    f < 0 ? -1 : at.get(key(treeIds[i]!, get('nodes_truenodeids').ints![i]!))!,
  );
  const right = feature.map((f, i) =>
    f < 0 ? -1 : at.get(key(treeIds[i]!, get('nodes_falsenodeids').ints![i]!))!,
  );
  const value = new Float64Array(n);
  const targets = get('target_nodeids').ints!;
  targets.forEach((id, k) => {
    const i = at.get(key(get('target_treeids').ints![k]!, id))!;
    value[i] = value[i]! + get('target_weights').floats![k]!;
  });
  const d = artifact.featureNames.length;
  const roots = [...new Set(treeIds)].map((t) => at.get(key(t, 0))!);
  const threshold = get('nodes_values').floats!;
  const missingLeft = get('nodes_missing_value_tracks_true').ints!;
  const cover = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (const root of roots) {
      let i = root;
      cover[i] = cover[i]! + 1;
      while (feature[i]! >= 0) {
        const v = x[r * d + feature[i]!]!;
        const goLeft = Number.isNaN(v) ? missingLeft[i] === 1 : v <= threshold[i]!;
        i = goLeft ? left[i]! : right[i]!;
        cover[i] = cover[i]! + 1;
      }
    }
  }
  return {
    featureCount: d,
    base: get('base_values').floats?.[0] ?? 0,
    roots,
    feature,
    threshold,
    missingLeft,
    left,
    right,
    value,
    cover,
  };
}

/** Six features, NaN in three, an interaction and a missingness signal. */
function smallSet(seed: number, rows: number): TrainingSet {
  const rng = createRng(seed);
  const d = 6;
  const x = new Float32Array(rows * d);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = Array.from({ length: d }, () => rng.normal());
    const labMissing = rng.next() < 0.2;
    const logit = 1.2 * v[0]! - 0.8 * v[1]! + v[0]! * v[2]! + (labMissing ? 1 : 0) - 1;
    y[r] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    for (let j = 0; j < d; j++) x[r * d + j] = v[j]!;
    if (labMissing) x[r * d + 3] = Number.NaN;
    if (rng.next() < 0.1) x[r * d + 1] = Number.NaN;
    if (rng.next() < 0.3) x[r * d + 5] = Number.NaN;
  }
  return {
    featureNames: Array.from({ length: d }, (_, j) => `view__f${j}`),
    x,
    y,
    groups: Array.from({ length: rows }, (_, r) => `p${r % 97}`),
    lineage: { lakeCommit: 'test', featureViews: [] },
  };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** max over rows of |base + Σ values − reference[r]|. */
function localAccuracyGap(
  e: { base: number; values: Float64Array; rows: number; featureNames: readonly string[] },
  reference: ArrayLike<number>,
): number {
  const d = e.featureNames.length;
  let worst = 0;
  for (let r = 0; r < e.rows; r++) {
    let sum = e.base;
    for (let j = 0; j < d; j++) sum += e.values[r * d + j]!;
    worst = Math.max(worst, Math.abs(sum - reference[r]!));
  }
  return worst;
}

describe('explainArtifact: gbt', () => {
  const train = smallSet(1, 1500);
  const probe = smallSet(2, 60);
  const d = train.featureNames.length;
  const trained = trainer.train(train, {
    algorithm: 'gbt',
    params: { nEstimators: 25, maxDepth: 5, learningRate: 0.3, minSamplesLeaf: 5 },
    seed: 1,
  });

  it('stores cover = the training rows that reached each node (NaN by the learned direction)', async () => {
    const { artifact } = await trained;
    const stored = JSON.parse(decodeOnnxModel(artifact.bytes).metadata.get(GBT_COVER_KEY)!) as number[][];
    const truth = truthTrees(artifact, train.x, train.y.length);
    expect(stored.flat()).toEqual(Array.from(truth.cover));
    expect(stored.every((tree) => tree[0] === train.y.length)).toBe(true);
  });

  it('matches brute-force Shapley values within 1e-9, with base = the mean training logit', async () => {
    const { artifact } = await trained;
    const explainer = explainArtifact(artifact);
    expect(explainer.method).toBe('tree-shap');
    const e = explainer.explain(probe.x, probe.y.length);
    const truth = truthTrees(artifact, train.x, train.y.length);
    let worst = 0;
    for (let r = 0; r < e.rows; r++) {
      worst = Math.max(
        worst,
        maxAbs(e.values.subarray(r * d, (r + 1) * d), bruteForceShapley(truth, probe.x, r * d)),
      );
    }
    console.log(
      `gbt (25 trees, depth 5, 6 features): max |TreeSHAP − brute force| = ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(1e-9);
    // Cover = training rows, so the base value is the training rows' mean logit (in float64).
    const all = explainer.explain(train.x, train.y.length);
    const mean = all.raw.reduce((a, b) => a + b, 0) / all.rows;
    expect(Math.abs(explainer.base - mean)).toBeLessThan(1e-9);
    expect(localAccuracyGap(e, e.raw)).toBeLessThan(1e-9);
  });

  it('depends on the cover: uniform leaf weights give other values (the truth with real cover still matches)', async () => {
    const { artifact } = await trained;
    const e = explainArtifact(artifact).explain(probe.x, probe.y.length);
    const truth = truthTrees(artifact, train.x, train.y.length);
    const leaves = (i: number): number =>
      truth.feature[i]! < 0 ? 1 : leaves(truth.left[i]!) + leaves(truth.right[i]!);
    const uniform: ShapleyTrees = { ...truth, cover: Float64Array.from(truth.feature, (_, i) => leaves(i)) };
    let gap = 0;
    for (let r = 0; r < e.rows; r++) {
      gap = Math.max(
        gap,
        maxAbs(e.values.subarray(r * d, (r + 1) * d), bruteForceShapley(uniform, probe.x, r * d)),
      );
    }
    console.log(`gbt: max |TreeSHAP − brute force with uniform cover| = ${gap.toFixed(3)}`);
    expect(gap).toBeGreaterThan(0.05);
  });

  it('counts cover from all training rows when trees were grown on a subsample', async () => {
    const { artifact } = await trainer.train(train, {
      algorithm: 'gbt',
      params: { nEstimators: 10, maxDepth: 4, subsample: 0.5 },
      seed: 3,
    });
    const stored = JSON.parse(decodeOnnxModel(artifact.bytes).metadata.get(GBT_COVER_KEY)!) as number[][];
    expect(stored.flat()).toEqual(Array.from(truthTrees(artifact, train.x, train.y.length).cover));
    const e = explainArtifact(artifact).explain(probe.x, probe.y.length);
    const truth = truthTrees(artifact, train.x, train.y.length);
    for (let r = 0; r < e.rows; r++) {
      expect(
        maxAbs(e.values.subarray(r * d, (r + 1) * d), bruteForceShapley(truth, probe.x, r * d)),
      ).toBeLessThan(1e-9);
    }
  });

  it('explains the logit before the calibrator; coverRows gives the stored cover; errors name the problem', async () => {
    const calibrated = await trainer.train(
      train,
      {
        algorithm: 'gbt',
        params: { nEstimators: 25, maxDepth: 5, learningRate: 0.3, minSamplesLeaf: 5, calibration: 'platt' },
        seed: 1,
      },
      { validation: smallSet(4, 500) },
    );
    const compiled = compileArtifact(calibrated.artifact);
    const e = explainArtifact(calibrated.artifact).explain(probe.x, probe.y.length);
    expect(maxAbs(e.raw, compiled.rawScore(probe.x, probe.y.length))).toBeLessThan(1e-5);
    expect(Array.from(e.probability)).toEqual(Array.from(compiled.score(probe.x, probe.y.length)));
    expect(localAccuracyGap(e, e.raw)).toBeLessThan(1e-9);

    const { artifact } = await trained;
    const counted = explainArtifact(artifact, { coverRows: { x: train.x, rows: train.y.length } });
    const stored = explainArtifact(artifact);
    const five = probe.x.subarray(0, 5 * d);
    expect(Array.from(counted.explain(five, 5).values)).toEqual(Array.from(stored.explain(five, 5).values));

    expect(() => stored.explain(probe.x, 7)).toThrow(/rows × 6/);
    try {
      stored.explain(new Float32Array(5), 1);
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error, 'VIGIL_EXPLAIN_INVALID_REQUEST')).toBe(true);
    }
    // A GBT exported without cover (before it was stored) cannot be explained from its bytes alone.
    const tree: RegressionTree = {
      feature: Int32Array.from([0, -1, -1]),
      threshold: Float32Array.from([0, 0, 0]),
      binThreshold: new Uint8Array(3),
      missingLeft: Uint8Array.from([1, 0, 0]),
      left: Int32Array.from([1, -1, -1]),
      right: Int32Array.from([2, -1, -1]),
      value: Float32Array.from([0, -0.5, 0.5]),
    };
    const old = gbtOnnx([tree], -1, ['a', 'b']);
    try {
      explainArtifact(old);
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error, 'VIGIL_EXPLAIN_UNSUPPORTED')).toBe(true);
      expect(String(error)).toMatch(/coverRows/);
    }
    const withRows = explainArtifact(old, {
      coverRows: { x: Float32Array.from([-1, 0, 1, 0, 2, 0, Number.NaN, 0]), rows: 4 },
    });
    // Rows at ≤ 0 or NaN: 2 of 4 go left (-0.5), 2 right (0.5): base = -1 + 0.
    expect(withRows.base).toBeCloseTo(-1, 12);
    const one = withRows.explain(Float32Array.from([Number.NaN, 5]), 1);
    expect(Array.from(one.values)).toEqual([-0.5, 0]);
  });
});

describe('explainArtifact: cart', () => {
  it('explains P(event) exactly (brute force within 1e-9), cover = node_samples', async () => {
    const train = smallSet(5, 2000);
    const probe = smallSet(6, 60);
    const d = train.featureNames.length;
    const { artifact } = await trainer.train(train, {
      algorithm: 'cart',
      params: { maxDepth: 4, minSamplesLeaf: 20 },
      seed: 1,
    });
    const explainer = explainArtifact(artifact);
    expect(explainer.scoreKind).toBe('probability');
    const e = explainer.explain(probe.x, probe.y.length);
    const truth = truthTrees(artifact, train.x, train.y.length);
    let worst = 0;
    for (let r = 0; r < e.rows; r++) {
      worst = Math.max(
        worst,
        maxAbs(e.values.subarray(r * d, (r + 1) * d), bruteForceShapley(truth, probe.x, r * d)),
      );
    }
    console.log(`cart (depth 4, 6 features): max |TreeSHAP − brute force| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-9);
    expect(maxAbs(e.raw, compileArtifact(artifact).rawScore(probe.x, probe.y.length))).toBeLessThan(1e-7);
    expect(localAccuracyGap(e, e.raw)).toBeLessThan(1e-9);
    // Base = the training positive rate (cover-weighted mean of leaf shares).
    const rate = train.y.reduce((a, b) => a + b, 0) / train.y.length;
    expect(Math.abs(explainer.base - rate)).toBeLessThan(1e-6);
  });
});

describe('explainArtifact: a realistic GBT (300 trees, NaNs)', () => {
  it('keeps base + Σ SHAP = logit within 1e-6 on every row', async () => {
    const train = clinicalLikeSet(21, 6000, { noiseFeatures: 8 });
    const test = clinicalLikeSet(22, 2000, { noiseFeatures: 8 });
    const { artifact, metrics } = await trainer.train(train, {
      algorithm: 'gbt',
      params: { nEstimators: 300, maxDepth: 4, learningRate: 0.05, minSamplesLeaf: 20 },
      seed: 7,
    });
    expect(metrics.n_trees).toBe(300);
    let nan = 0;
    for (const v of test.x) if (Number.isNaN(v)) nan++;
    expect(nan).toBeGreaterThan(0);
    const explainer = explainArtifact(artifact);
    const rows = test.y.length;
    explainer.explain(test.x.subarray(0, 20 * 20), 20); // warm-up
    const started = performance.now();
    const e = explainer.explain(test.x, rows);
    const ms = performance.now() - started;
    const served = compileArtifact(artifact).rawScore(test.x, rows);
    const exact = localAccuracyGap(e, e.raw);
    const versusGraph = localAccuracyGap(e, served);
    console.log(
      `gbt 300 trees × depth 4, 20 features, ${rows} rows (${nan} NaN values): ` +
        `${((1000 * ms) / rows).toFixed(1)} µs per row; max |base + Σ − logit| = ${exact.toExponential(2)} ` +
        `(float64 logit), ${versusGraph.toExponential(2)} (the graph's float32 logit)`,
    );
    expect(exact).toBeLessThan(1e-6);
    expect(versusGraph).toBeLessThan(1e-5);
  }, 120_000);
});

describe('explainArtifact: logistic', () => {
  it('gives exact linear SHAP: base = mean training logit, base + Σ = logit', async () => {
    const train = smallSet(7, 800);
    const { artifact } = await trainer.train(train, { algorithm: 'logistic', params: {}, seed: 1 });
    const explainer = explainArtifact(artifact);
    const e = explainer.explain(train.x, train.y.length);
    expect(localAccuracyGap(e, e.raw)).toBeLessThan(1e-9);
    expect(maxAbs(e.raw, compileArtifact(artifact).rawScore(train.x, train.y.length))).toBeLessThan(1e-5);
    // The graph imputes the training means rounded to float32, hence 1e-6 rather than 1e-9.
    const mean = e.raw.reduce((a, b) => a + b, 0) / e.rows;
    expect(Math.abs(explainer.base - mean)).toBeLessThan(1e-6);
  });
});

/** Two sequence features and a noise one; labels from a rise over two steps and a spike. */
function sequenceSet(seed: number, patients: number, steps: number): TrainingSet {
  return mixedSequenceSet(seed, patients, steps, { levelSd: 3, nanRate: 0.2, riseThreshold: 1.2 });
}

const tcnParams = {
  sequenceLength: 4,
  blocks: 2,
  hidden: 8,
  kernelSize: 2,
  maxEpochs: 6,
  batchSize: 64,
  learningRate: 0.01,
};

describe('explainArtifact: tcn and ensemble (approximations, local accuracy by construction)', () => {
  const train = sequenceSet(1, 60, 15);
  const test = sequenceSet(2, 10, 15);
  const L = tcnParams.sequenceLength;
  const seq = toSequences(test, L);
  const rows = test.y.length;
  const d = 3;

  it('tcn: base + Σ = the TCN logit within 1e-6; per-feature values vs the exact Shapley values of the same game', async () => {
    const { artifact } = await trainer.train(train, { algorithm: 'tcn', params: tcnParams, seed: 2 });
    const explainer = explainArtifact(artifact);
    expect(explainer.method).toBe('sequence-shapley');
    const e = explainer.explain(seq, rows);
    const logit = compileArtifact(artifact).rawScore(seq, rows);
    expect(localAccuracyGap(e, logit)).toBeLessThan(1e-6);
    expect(Array.from(e.raw)).toEqual(Array.from(logit));
    expect(Array.from(e.probability)).toEqual(Array.from(compileArtifact(artifact).score(seq, rows)));
    expect(Array.from(e.x.subarray(0, d))).toEqual(Array.from(seq.subarray((L - 1) * d, L * d)));
    // The exact Shapley values of v(S) = f(x, features outside S missing at every step).
    const score = compileArtifact(artifact);
    let gap = 0;
    let scale = 0;
    for (let r = 0; r < rows; r++) {
      const games = new Float32Array(8 * L * d);
      for (let s = 0; s < 8; s++) {
        for (let t = 0; t < L; t++) {
          for (let j = 0; j < d; j++) {
            games[s * L * d + t * d + j] = (s >> j) & 1 ? seq[r * L * d + t * d + j]! : Number.NaN;
          }
        }
      }
      const exact = shapleyOfGame(score.rawScore(games, 8), d);
      gap = Math.max(gap, maxAbs(e.values.subarray(r * d, (r + 1) * d), exact));
      scale = Math.max(scale, ...exact.map(Math.abs));
    }
    console.log(
      `tcn (3 features): max |approximation − exact Shapley| = ${gap.toExponential(2)} (max |φ| ${scale.toFixed(3)})`,
    );
    // With 3 players only the one triple interaction is left over, spread by |φ|.
    expect(gap).toBeLessThan(0.25 * scale);
  }, 60_000);

  it('ensemble: GBT member exact on the last step, scaled by its weight; base + Σ = the stacked logit', async () => {
    const { artifact } = await trainer.train(train, {
      algorithm: 'ensemble',
      params: { folds: 2, 'gbt.nEstimators': 30, 'gbt.maxDepth': 3, ...prefixed(tcnParams) },
      seed: 3,
    });
    const explainer = explainArtifact(artifact);
    expect(explainer.method).toBe('stacked');
    const e = explainer.explain(seq, rows);
    expect(localAccuracyGap(e, e.raw)).toBeLessThan(1e-6);
    expect(maxAbs(e.raw, compileArtifact(artifact).rawScore(seq, rows))).toBeLessThan(1e-5);
    expect(Array.from(e.probability)).toEqual(Array.from(compileArtifact(artifact).score(seq, rows)));
    const [gbt, tcn] = e.members!;
    expect(gbt!.member).toBe('gbt');
    expect(tcn!.member).toBe('tcn');
    for (let i = 0; i < e.values.length; i++) {
      expect(e.values[i]).toBeCloseTo(gbt!.weight * gbt!.values[i]! + tcn!.weight * tcn!.values[i]!, 12);
    }
    // The GBT member on the current rows: exact against brute force, cover = the training rows.
    const truth = truthTrees(artifact, train.x, train.y.length);
    for (let r = 0; r < rows; r++) {
      expect(
        maxAbs(gbt!.values.subarray(r * d, (r + 1) * d), bruteForceShapley(truth, e.x, r * d)),
      ).toBeLessThan(1e-9);
    }
  }, 120_000);
});

function prefixed(params: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [`tcn.${k}`, v]));
}

describe('NodeTrainer.explain (the Trainer port)', () => {
  it('returns the explainer’s attributions, adding up to the logit that predict serves', async () => {
    const train = clinicalLikeSet(31, 3000, { noiseFeatures: 4 });
    const { artifact } = await trainer.train(train, {
      algorithm: 'gbt',
      params: { nEstimators: 40, maxDepth: 3 },
      seed: 7,
    });
    const rows = 50;
    const x = train.x.subarray(0, rows * train.featureNames.length);
    const explained = await trainer.explain(artifact, x, rows);
    const direct = explainArtifact(artifact).explain(x, rows);
    expect(trainer.capabilities.explain).toBe(true);
    expect(explained.method).toBe('tree-shap');
    expect(Array.from(explained.values)).toEqual(Array.from(direct.values));
    const served = await trainer.predict(artifact, x, rows);
    const d = train.featureNames.length;
    for (let r = 0; r < rows; r++) {
      let sum = explained.base;
      for (let j = 0; j < d; j++) sum += explained.values[r * d + j]!;
      expect(sum).toBeCloseTo(explained.raw[r]!, 10);
      // Served probability (float32 graph) = sigmoid of the attributed logit.
      expect(served[r]!).toBeCloseTo(1 / (1 + Math.exp(-sum)), 5);
    }
  });
});
