import type { ModelArtifact } from '@vigil/core';
import { auroc, nearestRankQuantileSorted as quantile } from '@vigil/core';
import { MODEL_PROBABILITIES_NAME } from '../artifact/model-artifact.js';

/**
 * The subset of `onnxruntime-node` the check calls, declared structurally: this package does not
 * depend on onnxruntime at run time; the caller passes the module (`await import('onnxruntime-node')`).
 */
export interface OrtLikeSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}
export interface OrtLike {
  InferenceSession: {
    create(
      bytes: Uint8Array,
      options?: {
        graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
        intraOpNumThreads?: number;
        interOpNumThreads?: number;
        executionMode?: 'sequential' | 'parallel';
      },
    ): Promise<OrtLikeSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
}

/** Float model vs its int8 variant, on the same rows, in one process. */
export interface QuantizationCheck {
  rows: number;
  /** AUROC of each on the rows' labels, and the cost (float − int8; positive = int8 is worse). Null without labels (or with one class). */
  auroc: { float: number; int8: number; cost: number } | null;
  /** |P_int8 − P_float| over the rows. */
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** One row per call, float and int8 alternating; speed-up = float / int8 (> 1: int8 is faster). */
  singleRow: {
    runs: number;
    float: LatencySummary;
    int8: LatencySummary;
    speedupP50: number;
    speedupP99: number;
  };
  /** `batchRows` rows per call, alternating; rows per second and speed-up. */
  batch: { rows: number; runs: number; floatRowsPerSec: number; int8RowsPerSec: number; speedup: number };
  bytes: { float: number; int8: number; ratio: number };
}

export interface QuantizationCheckOptions {
  /** Row-major `[rows, width]` model inputs (NaN = missing). */
  x: Float32Array;
  rows: number;
  /** 0/1 outcome per row; absent: no AUROC. */
  labels?: ArrayLike<number>;
  /** Single-row calls per model (default 2000) and batch calls per model (default 50). */
  singleRowRuns?: number;
  batchRuns?: number;
  /** Rows per batch call (default 256, at most `rows`; rows are reused cyclically when fewer). */
  batchRows?: number;
  /** Session options of both sessions; default level 'all', one thread, sequential (the server's defaults). */
  session?: Parameters<OrtLike['InferenceSession']['create']>[1];
}

/**
 * Score the same rows with `float` and `int8` in onnxruntime and time both, interleaved (float,
 * int8, int8, float, …) after a warm-up so that neither gets a warmer cache or a quieter moment.
 */
export async function checkQuantized(
  ort: OrtLike,
  float: ModelArtifact,
  int8: ModelArtifact,
  options: QuantizationCheckOptions,
): Promise<QuantizationCheck> {
  const { x, rows } = options;
  const width = x.length / rows;
  if (!Number.isInteger(width) || rows <= 0)
    throw new RangeError(`checkQuantized: ${x.length} values are not ${rows} rows`);
  const inputName = float.inputs[0]?.name ?? 'input';
  const sessionOptions = options.session ?? {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  const sessions = [
    await ort.InferenceSession.create(float.bytes, sessionOptions),
    await ort.InferenceSession.create(int8.bytes, sessionOptions),
  ] as const;
  try {
    const score = async (s: OrtLikeSession, data: Float32Array, n: number) => {
      const out = await s.run({ [inputName]: new ort.Tensor('float32', data, [n, width]) });
      const p = out[MODEL_PROBABILITIES_NAME]!.data as Float32Array;
      return Float64Array.from({ length: n }, (_, r) => p[2 * r + 1]!);
    };
    const pf = await score(sessions[0], x, rows);
    const pq = await score(sessions[1], x, rows);
    let maxAbsDiff = 0;
    let sumAbs = 0;
    for (let r = 0; r < rows; r++) {
      const dlt = Math.abs(pf[r]! - pq[r]!);
      maxAbsDiff = Math.max(maxAbsDiff, dlt);
      sumAbs += dlt;
    }
    let aurocs: QuantizationCheck['auroc'] = null;
    if (options.labels) {
      const a = auroc(pf, options.labels);
      const b = auroc(pq, options.labels);
      if (a !== null && a !== undefined && b !== null && b !== undefined)
        aurocs = { float: a, int8: b, cost: a - b };
    }

    // Timed runs, interleaved; the order within each pair flips every iteration.
    const timed = async (feeds: Record<string, unknown>[], runs: number) => {
      const times: [number[], number[]] = [[], []];
      for (let i = 0; i < Math.min(50, runs); i++)
        for (const s of sessions) await s.run(feeds[i % feeds.length]!);
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? [0, 1] : [1, 0];
        for (const k of order) {
          const began = performance.now();
          await sessions[k]!.run(feeds[i % feeds.length]!);
          times[k]!.push(performance.now() - began);
        }
      }
      return times.map((t) => t.sort((a, b) => a - b)) as [number[], number[]];
    };
    const singleRuns = options.singleRowRuns ?? 2000;
    const singleFeeds = Array.from({ length: Math.min(rows, 256) }, (_, r) => ({
      [inputName]: new ort.Tensor('float32', x.slice(r * width, (r + 1) * width), [1, width]),
    }));
    const [sf, sq] = await timed(singleFeeds, singleRuns);
    const summary = (t: number[]): LatencySummary => ({ p50Ms: quantile(t, 0.5), p99Ms: quantile(t, 0.99) });

    const batchRows = options.batchRows ?? 256;
    const batchData = new Float32Array(batchRows * width);
    for (let r = 0; r < batchRows; r++)
      batchData.set(x.subarray((r % rows) * width, ((r % rows) + 1) * width), r * width);
    const batchRuns = options.batchRuns ?? 50;
    const [bf, bq] = await timed(
      [{ [inputName]: new ort.Tensor('float32', batchData, [batchRows, width]) }],
      batchRuns,
    );
    const total = (t: number[]) => t.reduce((a, b) => a + b, 0);
    const floatRowsPerSec = (batchRows * batchRuns) / (total(bf) / 1000);
    const int8RowsPerSec = (batchRows * batchRuns) / (total(bq) / 1000);
    return {
      rows,
      auroc: aurocs,
      maxAbsDiff,
      meanAbsDiff: sumAbs / rows,
      singleRow: {
        runs: singleRuns,
        float: summary(sf),
        int8: summary(sq),
        speedupP50: quantile(sf, 0.5) / quantile(sq, 0.5),
        speedupP99: quantile(sf, 0.99) / quantile(sq, 0.99),
      },
      batch: {
        rows: batchRows,
        runs: batchRuns,
        floatRowsPerSec,
        int8RowsPerSec,
        speedup: int8RowsPerSec / floatRowsPerSec,
      },
      bytes: {
        float: float.bytes.length,
        int8: int8.bytes.length,
        ratio: float.bytes.length / int8.bytes.length,
      },
    };
  } finally {
    for (const s of sessions) await s.release();
  }
}
