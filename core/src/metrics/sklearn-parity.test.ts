/**
 * The metrics against scikit-learn, the independent source of truth: the same seeded
 * data go to a Python process in a pinned venv (created once under
 * ${VIGIL_CACHE:-~/.cache/vigil}/venvs/sklearn, reused on reruns), which computes them
 * with sklearn and numpy; every number must agree within 1e-9. The bootstrap intervals
 * are checked by sending sklearn the very resamples (as per-row counts, i.e. sample
 * weights) that our seeded resampler draws.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { ensureSklearn, runSklearn, SKLEARN_VERSION } from '../testing/sklearn.js';
import { auroc } from './auroc.js';
import { aurocCi } from './auroc-ci.js';
import { averagePrecision } from './average-precision.js';
import { stratifiedResampler } from './bootstrap.js';
import { brierScore } from './brier-score.js';
import { calibrationCurve, expectedCalibrationError } from './calibration.js';
import { precisionRecallAt, thresholdForRecall } from './operating-threshold.js';
import { pairedAurocDelta } from './paired-auroc-delta.js';

const TOL = 1e-9;
const REPLICATES = 100;

const REFERENCE = `
import json, sys
import numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score, brier_score_loss, precision_recall_curve, precision_score, recall_score
from sklearn.calibration import calibration_curve

cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    s = np.array(c['scores'], dtype=np.float64)
    y = np.array(c['labels'], dtype=np.int64)
    r = {}
    r['auroc'] = roc_auc_score(y, s)
    r['ap'] = average_precision_score(y, s)
    r['brier'] = brier_score_loss(y, s)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=c['bins'], strategy='uniform')
    r['calTrue'] = prob_true.tolist()
    r['calPred'] = prob_pred.tolist()
    bins = np.linspace(0.0, 1.0, c['bins'] + 1)
    ids = np.searchsorted(bins[1:-1], s)
    counts = np.bincount(ids, minlength=c['bins'])
    r['calCount'] = counts[counts != 0].tolist()
    r['ece'] = float(np.sum(counts[counts != 0] / len(s) * np.abs(prob_pred - prob_true)))
    t = c['threshold']
    pred = (s >= t).astype(int)
    r['precisionAt'] = precision_score(y, pred, zero_division=np.nan)
    r['recallAt'] = recall_score(y, pred)
    precision, recall, thresholds = precision_recall_curve(y, s)
    ok = recall[:-1] >= c['targetRecall']
    i = int(np.argmax(np.where(ok, thresholds, -np.inf)))
    r['targetThreshold'] = float(thresholds[i]); r['targetPrecision'] = float(precision[i]); r['targetRecall'] = float(recall[i])
    lo, hi = (1 - c['level']) / 2 * 100, (1 + c['level']) / 2 * 100
    w = np.array(c['weights'], dtype=np.float64)
    reps = np.array([roc_auc_score(y, s, sample_weight=wb) for wb in w])
    r['ciLower'], r['ciUpper'] = np.percentile(reps, [lo, hi]).tolist()
    sb = np.array(c['scoresB'], dtype=np.float64)
    deltas = reps - np.array([roc_auc_score(y, sb, sample_weight=wb) for wb in w])
    r['delta'] = roc_auc_score(y, s) - roc_auc_score(y, sb)
    r['deltaLower'], r['deltaUpper'] = np.percentile(deltas, [lo, hi]).tolist()
    B = len(deltas)
    r['p'] = min(1.0, 2 * (1 + min(np.sum(deltas <= 0), np.sum(deltas >= 0))) / (1 + B))
    out.append(r)
json.dump(out, sys.stdout)
`;

interface Case {
  name: string;
  scores: number[];
  scoresB: number[];
  labels: number[];
  bins: number;
  threshold: number;
  targetRecall: number;
  level: number;
  seed: number;
}

/** Seeded binormal-ish data squashed to (0, 1); `grid` rounds scores to multiples of 1/grid (ties, and scores on bin edges). */
function makeCase(name: string, n: number, prevalence: number, seed: number, grid?: number): Case {
  const rng = createRng(seed);
  const labels: number[] = [];
  const scores: number[] = [];
  const scoresB: number[] = [];
  const squash = (z: number) => {
    const p = 1 / (1 + Math.exp(-z));
    return grid ? Math.round(p * grid) / grid : p;
  };
  for (let i = 0; i < n; i++) {
    const y = rng.next() < prevalence ? 1 : 0;
    const signal = y === 1 ? 1.2 : 0;
    const z = -1.5 + signal + rng.normal();
    labels.push(y);
    scores.push(squash(z));
    scoresB.push(squash(z + 0.9 * rng.normal()));
  }
  return { name, scores, scoresB, labels, bins: 10, threshold: 0.3, targetRecall: 0.8, level: 0.95, seed };
}

const cases: Case[] = [
  makeCase('continuous, n=1000', 1000, 0.3, 11),
  makeCase('scores on a 0.05 grid (ties, edges), n=600', 600, 0.25, 12, 20),
  makeCase('rare positives, n=120', 120, 0.08, 13),
  {
    ...makeCase('15 bins, level 0.9, threshold on a tie', 400, 0.4, 14, 40),
    bins: 15,
    level: 0.9,
    threshold: 0.5,
  },
];
cases[0]!.targetRecall = 0.9;

describe(`metrics against scikit-learn ${SKLEARN_VERSION}`, () => {
  let skipReason: string | undefined;
  let reference: Record<string, number | number[]>[] = [];

  beforeAll(async () => {
    skipReason = await ensureSklearn();
    if (skipReason) return;
    const payload = cases.map((c) => {
      const draw = stratifiedResampler(c.labels, c.seed);
      const weights = Array.from({ length: REPLICATES }, () => Array.from(draw()));
      return { ...c, weights };
    });
    reference = await runSklearn(REFERENCE, payload);
  }, 600_000);

  cases.forEach((c, k) => {
    it(c.name, (ctx) => {
      if (skipReason) {
        console.warn(`SKIPPED sklearn parity: ${skipReason}`);
        ctx.skip(skipReason);
      }
      const r = reference[k]!;
      const near = (actual: number | null | undefined, expected: unknown, what: string) => {
        expect(actual, what).not.toBeNull();
        expect(
          Math.abs(actual! - (expected as number)),
          `${what}: ${actual} vs sklearn ${expected}`,
        ).toBeLessThanOrEqual(TOL);
      };
      near(auroc(c.scores, c.labels), r.auroc, 'AUROC');
      near(averagePrecision(c.scores, c.labels), r.ap, 'AUPRC');
      near(brierScore(c.scores, c.labels), r.brier, 'Brier');
      near(expectedCalibrationError(c.scores, c.labels, { bins: c.bins }), r.ece, 'ECE');

      const curve = calibrationCurve(c.scores, c.labels, { bins: c.bins });
      expect(curve.map((b) => b.count)).toEqual(r.calCount);
      curve.forEach((b, i) => {
        near(b.meanPredicted, (r.calPred as number[])[i], `calibration bin ${i} mean predicted`);
        near(b.observedRate, (r.calTrue as number[])[i], `calibration bin ${i} observed rate`);
      });

      const at = precisionRecallAt(c.scores, c.labels, c.threshold);
      near(at.precision, r.precisionAt, 'precision at threshold');
      near(at.recall, r.recallAt, 'recall at threshold');

      const chosen = thresholdForRecall(c.scores, c.labels, c.targetRecall)!;
      expect(chosen.threshold).toBe(r.targetThreshold);
      near(chosen.precision, r.targetPrecision, 'precision at the chosen threshold');
      near(chosen.recall, r.targetRecall, 'recall at the chosen threshold');

      const ci = aurocCi(c.scores, c.labels, { samples: REPLICATES, level: c.level, seed: c.seed })!;
      near(ci.lower, r.ciLower, 'bootstrap CI lower');
      near(ci.upper, r.ciUpper, 'bootstrap CI upper');

      const paired = pairedAurocDelta(c.scores, c.scoresB, c.labels, {
        samples: REPLICATES,
        level: c.level,
        seed: c.seed,
      })!;
      near(paired.delta, r.delta, 'paired delta');
      near(paired.ci[0], r.deltaLower, 'paired CI lower');
      near(paired.ci[1], r.deltaUpper, 'paired CI upper');
      near(paired.p, r.p, 'paired p');
    });
  });
});
