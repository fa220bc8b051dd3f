import { type ModelArtifact, toSequences } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { type RowSet, rowSubset, scoringInput } from './fold-scorer.js';

const set: RowSet = {
  featureNames: ['a', 'b'],
  x: Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]),
  y: Uint8Array.from([0, 1, 0, 1]),
  groups: ['p1', 'p2', 'p1', 'p2'],
  lineage: { lakeCommit: 'c', featureViews: [] },
  at: Float64Array.from([1, 1, 2, 2]),
};

const artifact = (cols: number): ModelArtifact => ({
  format: 'onnx',
  bytes: new Uint8Array(),
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, cols] }],
  outputs: [],
  featureNames: ['a', 'b'],
  sha256: 'x',
});

describe('fold scorer inputs', () => {
  it('rowSubset keeps the rows asked for, in that order, with features, labels, patients and times', () => {
    const s = rowSubset(set, [3, 0]);
    expect(Array.from(s.x)).toEqual([30, 31, 0, 1]);
    expect(Array.from(s.y)).toEqual([1, 0]);
    expect(s.groups).toEqual(['p2', 'p1']);
    expect(Array.from(s.at!)).toEqual([2, 1]);
  });

  it('a row model scores the rows; a sequence model (input L·d wide) their patient sequences', () => {
    expect(scoringInput(artifact(2), set)).toBe(set.x);
    const seq = scoringInput(artifact(4), set);
    expect(seq).toEqual(toSequences({ ...set, at: Array.from(set.at!) }, 2));
    // row 2 (p1 at t=2) sees p1's row at t=1 first, then itself
    expect(Array.from(seq.subarray(2 * 4, 3 * 4))).toEqual([0, 1, 20, 21]);
  });
});
