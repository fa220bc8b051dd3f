import { describe, expect, it } from 'vitest';
import { lastSteps, toSequences } from './sequences.js';

const names = ['a', 'b'];

describe('toSequences', () => {
  it('stacks each row after its patient’s earlier rows, NaN-padded, time-major', () => {
    // Rows of two patients, interleaved, in time order within each.
    const x = Float32Array.from([1, 10, 100, 1000, 2, 20, 3, 30, 200, 2000]);
    const groups = ['p', 'q', 'p', 'p', 'q'];
    const seq = toSequences({ featureNames: names, x, groups }, 3);
    expect(seq.length).toBe(5 * 3 * 2);
    const row = (r: number) => Array.from(seq.subarray(r * 6, r * 6 + 6));
    const N = Number.NaN;
    expect(row(0)).toEqual([N, N, N, N, 1, 10]);
    expect(row(1)).toEqual([N, N, N, N, 100, 1000]);
    expect(row(2)).toEqual([N, N, 1, 10, 2, 20]);
    expect(row(3)).toEqual([1, 10, 2, 20, 3, 30]);
    expect(row(4)).toEqual([N, N, 100, 1000, 200, 2000]);
  });

  it('orders by `at` when given and never takes a row at the same time as history', () => {
    const x = Float32Array.from([3, 30, 1, 10, 2, 20, 9, 90]);
    const at = [new Date(3000), 1000, 2000, 2000];
    const seq = toSequences({ featureNames: names, x, groups: ['p', 'p', 'p', 'p'], at }, 3);
    const row = (r: number) => Array.from(seq.subarray(r * 6, r * 6 + 6));
    const N = Number.NaN;
    // Row 0's two latest earlier rows are rows 2 and 3 (same time, kept in set order).
    expect(row(0)).toEqual([2, 20, 9, 90, 3, 30]);
    expect(row(1)).toEqual([N, N, N, N, 1, 10]);
    // Rows 2 and 3 share a time: neither is the other's history.
    expect(row(2)).toEqual([N, N, 1, 10, 2, 20]);
    expect(row(3)).toEqual([N, N, 1, 10, 9, 90]);
  });

  it('L = 1 is the rows themselves; missing values stay NaN', () => {
    const x = Float32Array.from([1, Number.NaN, 3, 4]);
    expect(Array.from(toSequences({ featureNames: names, x, groups: ['p', 'p'] }, 1))).toEqual(Array.from(x));
  });

  it('rejects a bad length or time, naming the field', () => {
    expect(() => toSequences({ featureNames: names, x: new Float32Array(3), groups: ['p', 'p'] }, 2)).toThrow(
      /x has 3/,
    );
    expect(() => toSequences({ featureNames: names, x: new Float32Array(4), groups: ['p', 'p'] }, 0)).toThrow(
      /sequenceLength/,
    );
    expect(() =>
      toSequences(
        { featureNames: names, x: new Float32Array(4), groups: ['p', 'p'], at: [1, Number.NaN] },
        2,
      ),
    ).toThrow(/at\[1\]/);
  });
});

describe('lastSteps', () => {
  it('takes the last step of each sequence built by toSequences: the row itself', () => {
    const set = {
      featureNames: ['a', 'b'],
      x: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
      groups: ['p', 'p', 'q', 'p'],
    };
    const sequences = toSequences(set, 3);
    expect(Array.from(lastSteps(sequences, 4, 6, 2))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(lastSteps(set.x, 4, 2, 2)).toBe(set.x);
  });
});
