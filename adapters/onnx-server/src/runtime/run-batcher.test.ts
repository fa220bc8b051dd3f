import { describe, expect, it } from 'vitest';
import type { OrtTensor } from './ort.js';
import { RunBatcher, type RunFn } from './run-batcher.js';

const WIDTH = 3;

/** A row-wise model: probabilities [rows, 2] = [1 − s, s] with s the row's sum / 100, label [rows] = s ≥ 0.5. */
function rowModel(options: { failWhen?: (data: Float32Array, rows: number) => boolean } = {}) {
  const calls: { rows: number; fetches: readonly string[] }[] = [];
  const run: RunFn = async (data, rows, fetches) => {
    calls.push({ rows, fetches });
    if (options.failWhen?.(data, rows)) throw new Error(`bad batch of ${rows}`);
    const p = new Float32Array(rows * 2);
    const label = new BigInt64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < WIDTH; j++) s += data[r * WIDTH + j]!;
      p[2 * r] = 1 - s / 100;
      p[2 * r + 1] = s / 100;
      label[r] = s / 100 >= 0.5 ? 1n : 0n;
    }
    const out: Record<string, OrtTensor> = {};
    if (fetches.includes('probabilities')) out.probabilities = { type: 'float32', dims: [rows, 2], data: p };
    if (fetches.includes('label')) out.label = { type: 'int64', dims: [rows], data: label };
    return out;
  };
  return { run, calls };
}

const rowsOf = (...values: number[][]) => Float32Array.from(values.flat());
const positives = (r: Record<string, OrtTensor>) =>
  Array.from(r.probabilities!.data as Float32Array).filter((_, i) => i % 2 === 1);

describe('RunBatcher', () => {
  it('runs the requests of one turn as one run and gives each its own rows of every output', async () => {
    const model = rowModel();
    const batcher = new RunBatcher(model.run, WIDTH, 64);
    const fetches = ['probabilities', 'label'];
    const [a, b, c] = await Promise.all([
      batcher.run(rowsOf([10, 10, 10]), 1, fetches),
      batcher.run(rowsOf([20, 20, 20], [1, 1, 1]), 2, fetches),
      batcher.run(rowsOf([5, 5, 5]), 1, fetches),
    ]);
    expect(model.calls).toEqual([{ rows: 4, fetches }]);
    expect(positives(a!)).toEqual([Math.fround(0.3)]);
    expect(positives(b!)).toEqual([Math.fround(0.6), Math.fround(0.03)]);
    expect(positives(c!)).toEqual([Math.fround(0.15)]);
    expect(b!.probabilities!.dims).toEqual([2, 2]);
    expect(Array.from(b!.label!.data as BigInt64Array)).toEqual([1n, 0n]);
    expect(c!.label!.dims).toEqual([1]);
    expect(batcher.runs).toBe(1);
    expect(batcher.rows).toBe(4);
  });

  it('gives the same answers as running each request alone', async () => {
    const model = rowModel();
    const batcher = new RunBatcher(model.run, WIDTH, 64);
    const inputs = Array.from({ length: 20 }, (_, i) => rowsOf([i, 2 * i, 3 * i]));
    const alone = await Promise.all(inputs.map((x) => model.run(x, 1, ['probabilities'])));
    model.calls.length = 0;
    const batched = await Promise.all(inputs.map((x) => batcher.run(x, 1, ['probabilities'])));
    expect(model.calls).toHaveLength(1);
    expect(batched.map(positives)).toEqual(alone.map(positives));
  });

  it('does not batch requests of different turns, different fetches, or past maxRows', async () => {
    const model = rowModel();
    const batcher = new RunBatcher(model.run, WIDTH, 4);
    await batcher.run(rowsOf([1, 1, 1]), 1, ['probabilities']);
    await batcher.run(rowsOf([1, 1, 1]), 1, ['probabilities']);
    expect(model.calls.map((c) => c.rows)).toEqual([1, 1]);

    model.calls.length = 0;
    await Promise.all([
      batcher.run(rowsOf([1, 1, 1]), 1, ['probabilities']),
      batcher.run(rowsOf([1, 1, 1]), 1, ['label']),
      batcher.run(rowsOf([1, 1, 1]), 1, ['probabilities']),
    ]);
    expect(model.calls).toEqual([
      { rows: 2, fetches: ['probabilities'] },
      { rows: 1, fetches: ['label'] },
    ]);

    model.calls.length = 0;
    const six = Array.from({ length: 6 }, (_, i) => batcher.run(rowsOf([i, i, i]), 1, ['probabilities']));
    const big = batcher.run(rowsOf([1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]), 4, ['probabilities']);
    await Promise.all([...six, big]);
    // The 4-row request runs at once; the six share runs of at most 4 rows.
    expect(model.calls.map((c) => c.rows)).toEqual([4, 4, 2]);
  });

  it("one request's failure is never another's: a failed batch runs again request by request", async () => {
    // The model fails any run containing a row that sums to 999.
    const model = rowModel({
      failWhen: (data, rows) => {
        for (let r = 0; r < rows; r++)
          if (data[r * WIDTH]! + data[r * WIDTH + 1]! + data[r * WIDTH + 2]! === 999) return true;
        return false;
      },
    });
    const batcher = new RunBatcher(model.run, WIDTH, 64);
    const results = await Promise.allSettled([
      batcher.run(rowsOf([10, 10, 10]), 1, ['probabilities']),
      batcher.run(rowsOf([333, 333, 333]), 1, ['probabilities']),
      batcher.run(rowsOf([20, 20, 20]), 1, ['probabilities']),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(positives((results[0] as PromiseFulfilledResult<Record<string, OrtTensor>>).value)).toEqual([
      Math.fround(0.3),
    ]);
    expect(model.calls.map((c) => c.rows)).toEqual([3, 1, 1, 1]);
    expect(batcher.runs).toBe(0);
  });

  it('a model whose outputs are not one row per input row is run request by request', async () => {
    const calls: number[] = [];
    const pooled: RunFn = async (_data, rows) => {
      calls.push(rows);
      return { total: { type: 'float32', dims: [1], data: Float32Array.of(rows) } };
    };
    const batcher = new RunBatcher(pooled, WIDTH, 64);
    const answers = await Promise.all([
      batcher.run(rowsOf([1, 1, 1]), 1, ['total']),
      batcher.run(rowsOf([1, 1, 1], [2, 2, 2]), 2, ['total']),
    ]);
    expect(calls).toEqual([3, 1, 2]);
    expect(answers.map((a) => Array.from(a.total!.data as Float32Array))).toEqual([[1], [2]]);
  });
});
