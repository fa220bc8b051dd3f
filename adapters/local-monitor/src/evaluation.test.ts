import { describe, expect, it } from 'vitest';
import { evaluateScores } from './evaluation.js';

describe('evaluateScores', () => {
  it('is all nulls and zeros for nothing', () => {
    expect(evaluateScores([], 0.5)).toEqual({
      predictions: 0,
      labelled: 0,
      positives: 0,
      auroc: null,
      precision: null,
      recall: null,
      brier: null,
      meanScore: null,
      auprc: null,
      ece: null,
      calibration: [],
      fallbackRate: null,
      latencyP50Ms: null,
      latencyP99Ms: null,
    });
  });

  it('takes latency p50/p99 by nearest rank and the fallback share over all predictions', () => {
    // latencies 1..200 ms, shuffled: nearest rank p50 = the 100th smallest, p99 = the 198th
    const items = Array.from({ length: 200 }, (_, i) => ({
      score: 0.5,
      label: undefined,
      latencyMs: ((i * 77) % 200) + 1,
      fallback: i % 40 === 0,
    }));
    items.push({ score: 0.5, label: undefined, latencyMs: undefined as unknown as number, fallback: false });
    const e = evaluateScores(items, 0.5);
    expect(e.latencyP50Ms).toBe(100);
    expect(e.latencyP99Ms).toBe(198);
    expect(e.fallbackRate).toBeCloseTo(5 / 201, 12);
  });

  it('flags a score equal to the threshold and leaves AUROC null for one class', () => {
    const e = evaluateScores(
      [
        { score: 0.5, label: 1 },
        { score: 0.2, label: 1 },
        { score: 0.8, label: undefined },
      ],
      0.5,
    );
    expect(e).toMatchObject({
      predictions: 3,
      labelled: 2,
      positives: 2,
      auroc: null,
      precision: 1,
      recall: 0.5,
    });
    expect(e.brier).toBeCloseTo((0.25 + 0.64) / 2, 12);
    expect(e.meanScore).toBeCloseTo(0.5, 12);
  });
});
