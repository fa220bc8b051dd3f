import { auroc, type TrainingSet } from '@vigil/core';
import { ensureSklearn, runSklearn, SKLEARN_VERSION } from '@vigil/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeTrainer } from '../node-trainer.js';
import { compileArtifact } from '../scoring/compile-artifact.js';
import { clinicalLikeSet } from '../testing/clinical-like-set.js';

/**
 * Our `gbt` against scikit-learn's HistGradientBoostingClassifier with the parameters mapped as
 * the README's "GBT and scikit-learn" table says, on the same clinical-like rows (20k training,
 * ~7 % positive, NaN in 8 of 20 columns, 8 noise columns); held-out AUROC must agree within 0.005.
 */
const TOLERANCE = 0.005;
const train = clinicalLikeSet(101, 20_000);
const validation = clinicalLikeSet(102, 5_000);
const heldOut = clinicalLikeSet(103, 20_000);
const trainer = new NodeTrainer();

/** Ours → sklearn: nEstimators↔max_iter, learningRate, maxDepth (max_leaf_nodes=None), lambda↔l2_regularization, minSamplesLeaf, minChildWeight↔min_hessian_to_split (sklearn's is fixed at 1e-3). */
const PARAMS = {
  nEstimators: 150,
  learningRate: 0.1,
  maxDepth: 4,
  lambda: 1,
  minSamplesLeaf: 20,
  minChildWeight: 1e-3,
};

const REFERENCE = `
import json, sys
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

# One OpenMP thread: on a busy shared machine spinning OpenMP workers slow the fits tenfold.
threadpool_limits(1)

p = json.load(open(sys.argv[1]))
def matrix(s):
    return np.array(s['x'], dtype=np.float64).astype(np.float32).reshape(-1, p['d'])
X, y = matrix(p['train']), np.array(p['train']['y'])
Xv, yv = matrix(p['validation']), np.array(p['validation']['y'])
Xt = matrix(p['heldOut'])
out = {}
for name, c in p['cases'].items():
    model = HistGradientBoostingClassifier(
        max_iter=c['max_iter'], learning_rate=c['learning_rate'], max_depth=c['max_depth'],
        max_leaf_nodes=None, min_samples_leaf=c['min_samples_leaf'],
        l2_regularization=c['l2_regularization'], max_bins=255,
        early_stopping=c['early_stopping'], n_iter_no_change=c.get('n_iter_no_change', 10),
        scoring='loss', tol=0.0, random_state=0)
    if c['early_stopping']:
        model.fit(X, y, X_val=Xv, y_val=yv)
    else:
        model.fit(X, y)
    out[name] = {'scores': model.decision_function(Xt).tolist(), 'iterations': int(model.n_iter_)}
json.dump(out, sys.stdout)
`;

interface Reference {
  scores: number[];
  iterations: number;
}

const asPayload = (set: TrainingSet) => ({
  x: Array.from(set.x, (v) => (Number.isNaN(v) ? null : v)),
  y: Array.from(set.y),
});

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

async function oursScores(params: Record<string, number>, withValidation: boolean) {
  const result = await trainer.train(
    train,
    { algorithm: 'gbt', params, seed: 1 },
    withValidation ? { validation } : {},
  );
  const scores = compileArtifact(result.artifact).rawScore(heldOut.x, heldOut.y.length);
  return { scores, auroc: auroc(scores, heldOut.y)!, trees: result.metrics.n_trees! };
}

describe(`gbt against scikit-learn ${SKLEARN_VERSION} HistGradientBoostingClassifier`, () => {
  let skipReason: string | undefined;
  let reference: Record<string, Reference> = {};

  beforeAll(async () => {
    skipReason = await ensureSklearn();
    if (skipReason) return;
    const shared = {
      max_iter: PARAMS.nEstimators,
      learning_rate: PARAMS.learningRate,
      max_depth: PARAMS.maxDepth,
      min_samples_leaf: PARAMS.minSamplesLeaf,
      l2_regularization: PARAMS.lambda,
    };
    reference = await runSklearn<Record<string, Reference>>(REFERENCE, {
      d: train.featureNames.length,
      train: asPayload(train),
      validation: asPayload(validation),
      heldOut: asPayload(heldOut),
      cases: {
        fixed: { ...shared, early_stopping: false },
        early: { ...shared, max_iter: 1000, early_stopping: true, n_iter_no_change: 10 },
      },
    });
  }, 600_000);

  const skipIfNoSklearn = (ctx: { skip(note?: string): void }) => {
    if (skipReason) {
      console.warn(`SKIPPED sklearn HGB parity: ${skipReason}`);
      ctx.skip(skipReason);
    }
  };

  it('the data set is what the parity claim is about: ~7 % positives, NaN, noise columns', () => {
    let positives = 0;
    for (const v of train.y) positives += v;
    expect(positives / train.y.length).toBeGreaterThan(0.055);
    expect(positives / train.y.length).toBeLessThan(0.085);
    expect(train.x.some(Number.isNaN)).toBe(true);
    expect(train.featureNames.filter((n) => n.startsWith('noise_')).length).toBeGreaterThanOrEqual(8);
  });

  it(`no early stopping: held-out AUROC within ${TOLERANCE}, scores strongly correlated`, async (ctx) => {
    skipIfNoSklearn(ctx);
    const ours = await oursScores(PARAMS, false);
    const theirs = reference.fixed!;
    const theirAuroc = auroc(theirs.scores, heldOut.y)!;
    const r = pearson(ours.scores, theirs.scores);
    // Not vacuous: a far weaker model of ours misses the band.
    const weak = await oursScores({ ...PARAMS, nEstimators: 1 }, false);
    const shallow = await oursScores({ ...PARAMS, nEstimators: 15, maxDepth: 1 }, false);
    console.info(
      `gbt parity (fixed ${PARAMS.nEstimators} trees): ours ${ours.auroc.toFixed(4)} sklearn ${theirAuroc.toFixed(4)}; logit correlation ${r.toFixed(4)}; ours with 1 tree ${weak.auroc.toFixed(4)}, with 15 stumps ${shallow.auroc.toFixed(4)}`,
    );
    expect(theirAuroc).toBeGreaterThan(0.7);
    expect(Math.abs(ours.auroc - theirAuroc)).toBeLessThanOrEqual(TOLERANCE);
    // The same model up to binning and float noise: the logits move together.
    expect(r).toBeGreaterThan(0.995);
    expect(Math.abs(weak.auroc - theirAuroc)).toBeGreaterThan(TOLERANCE);
    expect(Math.abs(shallow.auroc - theirAuroc)).toBeGreaterThan(TOLERANCE);
  }, 120_000);

  it(`early stopping on the same validation rows: held-out AUROC within ${TOLERANCE}`, async (ctx) => {
    skipIfNoSklearn(ctx);
    const ours = await oursScores({ ...PARAMS, nEstimators: 1000, earlyStoppingRounds: 10 }, true);
    const theirs = reference.early!;
    const theirAuroc = auroc(theirs.scores, heldOut.y)!;
    console.info(
      `gbt parity (early stopping): ours ${ours.auroc.toFixed(4)} (${ours.trees} trees kept) sklearn ${theirAuroc.toFixed(4)} (${theirs.iterations} iterations)`,
    );
    expect(ours.trees).toBeLessThan(1000);
    expect(Math.abs(ours.auroc - theirAuroc)).toBeLessThanOrEqual(TOLERANCE);
  }, 120_000);
});
