import { createRng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { shapleyOfGame } from '../testing/brute-force-shapley.js';
import { type SequenceScorer, sequenceShapley } from './sequence-shapley.js';

const L = 3;
const d = 5;

/** A scorer of `[rows, L·d]` sequences from a function of the per-feature step sums (NaN counts as 0). */
function scorer(f: (s: number[]) => number): SequenceScorer {
  return (x, rows) => {
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const sums = new Array<number>(d).fill(0);
      for (let t = 0; t < L; t++) {
        for (let j = 0; j < d; j++) {
          const v = x[r * L * d + t * d + j]!;
          if (!Number.isNaN(v)) sums[j] = sums[j]! + v;
        }
      }
      out[r] = f(sums);
    }
    return out;
  };
}

/** The exact Shapley values of v(S) = score(x with the features outside S missing at every step). */
function exactShapley(score: SequenceScorer, x: Float32Array, r: number): Float64Array {
  const width = L * d;
  const games = new Float32Array((1 << d) * width);
  for (let s = 0; s < 1 << d; s++) {
    for (let t = 0; t < L; t++) {
      for (let j = 0; j < d; j++) {
        games[s * width + t * d + j] = (s >> j) & 1 ? x[r * width + t * d + j]! : Number.NaN;
      }
    }
  }
  return shapleyOfGame(score(games, 1 << d), d);
}

function rowsOf(seed: number, rows: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: rows * L * d }, () =>
    rng.next() < 0.15 ? Number.NaN : Math.round(rng.normal() * 4) / 8,
  );
}

describe('sequenceShapley', () => {
  it('is the exact Shapley value when features interact at most in pairs', () => {
    // Values on a 1/8 grid keep every float32 score exact, so the comparison is tight.
    const score = scorer((s) => 0.5 + s[0]! - 0.5 * s[1]! + 0.25 * s[0]! * s[2]! - 0.125 * s[3]! * s[4]!);
    const x = rowsOf(1, 20);
    const a = sequenceShapley(score, x, 20, L, d);
    expect(a.base).toBe(0.5);
    for (let r = 0; r < 20; r++) {
      const exact = exactShapley(score, x, r);
      for (let j = 0; j < d; j++) expect(Math.abs(a.values[r * d + j]! - exact[j]!)).toBeLessThan(1e-12);
    }
  });

  it('keeps base + Σ values = the score by construction when higher interactions are left over', () => {
    const score = scorer((s) => s[0]! * s[1]! * s[2]! + Math.tanh(s[3]! + s[4]!) - s[1]!);
    const x = rowsOf(2, 30);
    const a = sequenceShapley(score, x, 30, L, d);
    const raw = score(x, 30);
    let worstSum = 0;
    let worstExact = 0;
    for (let r = 0; r < 30; r++) {
      let sum = a.base;
      for (let j = 0; j < d; j++) sum += a.values[r * d + j]!;
      worstSum = Math.max(worstSum, Math.abs(sum - raw[r]!));
      expect(a.raw[r]).toBe(raw[r]);
      const exact = exactShapley(score, x, r);
      for (let j = 0; j < d; j++)
        worstExact = Math.max(worstExact, Math.abs(a.values[r * d + j]! - exact[j]!));
    }
    expect(worstSum).toBeLessThan(1e-12);
    // Not exact here (a triple product and tanh), but not unrelated either.
    expect(worstExact).toBeGreaterThan(0);
    expect(worstExact).toBeLessThan(0.5);
  });

  it('gives a feature missing at every step nothing', () => {
    const score = scorer((s) => s[0]! + s[1]! * s[2]!);
    const x = rowsOf(3, 4);
    for (let t = 0; t < L; t++) x[t * d + 1] = Number.NaN;
    const a = sequenceShapley(score, x, 4, L, d);
    expect(a.values[1]).toBe(0);
  });
});
