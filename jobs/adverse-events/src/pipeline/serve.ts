import {
  type InferenceRequest,
  type Monitor,
  nearestRankQuantileSorted,
  type OutcomeRecord,
  type TrainingSet,
} from '@vigil/core';
import { checkAborted, type ProgressListener } from './runtime.js';

/** Nearest-rank `p`-th percentile of ascending `sorted`; NaN when empty. */
function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : nearestRankQuantileSorted(sorted, p / 100);
}

/** An OIP request for `count` rows of a row-major matrix from row `first`; NaN (missing) is sent as null. */
export function matrixRequest(
  x: Float32Array,
  d: number,
  first: number,
  count: number,
  id?: string,
): InferenceRequest {
  const data = Array.from(x.subarray(first * d, (first + count) * d), (v) => (Number.isNaN(v) ? null : v));
  return { ...(id ? { id } : {}), inputs: [{ name: 'input', shape: [count, d], datatype: 'FP32', data }] };
}

/**
 * Replay held-out rows through the served model over HTTP (Open Inference Protocol),
 * one row per request as a client would, measuring latency. The server emits each answer to
 * the monitor itself (with the patient pseudonymised and the row's prediction time); the replay
 * only records each outcome, by the prediction id the server returned, once the server has
 * flushed its predictions.
 */
export async function replayOverHttp(options: {
  url: string;
  model: string;
  set: TrainingSet;
  at: Date[];
  requests: number;
  horizonDays: number;
  runId: string;
  monitor: Monitor;
  /** Makes the server hand its pending predictions to the monitor. */
  flush: () => Promise<void>;
  signal: AbortSignal;
  onProgress: ProgressListener;
}): Promise<{ requests: number; p50: number; p99: number; versions: Record<string, number> }> {
  const { set } = options;
  // Values per row: d, or L·d for a sequence model's rows.
  const d = set.y.length > 0 ? set.x.length / set.y.length : set.featureNames.length;
  const n = Math.min(options.requests, set.y.length);
  // Spread the replay over the whole held-out set.
  const step = set.y.length / n;
  const latencies: number[] = [];
  const outcomes: OutcomeRecord[] = [];
  const versions: Record<string, number> = {};
  const endpoint = `${options.url}/v2/models/${encodeURIComponent(options.model)}/infer`;
  for (let k = 0; k < n; k++) {
    if (k % 100 === 0) checkAborted(options.signal);
    const row = Math.floor(k * step);
    const at = options.at[row]!;
    const request = matrixRequest(set.x, d, row, 1, `${options.runId}:${row}`);
    request.parameters = { entity_id: set.groups[row]!, timestamp: at.toISOString() };
    const t0 = performance.now();
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-vigil-route-key': set.groups[row]! },
      body: JSON.stringify(request),
    });
    const answer = (await response.json()) as {
      model_version?: string;
      parameters?: { prediction_ids?: string[] };
      outputs?: { name: string; data: number[] }[];
      error?: string;
    };
    latencies.push(performance.now() - t0);
    if (!response.ok)
      throw new Error(`inference failed with HTTP ${response.status}: ${answer.error ?? 'no error text'}`);
    const score = answer.outputs?.find((o) => o.name === 'probabilities')?.data?.[1];
    if (typeof score !== 'number') throw new Error('inference response has no probabilities output');
    const predictionId = answer.parameters?.prediction_ids?.[0];
    if (predictionId === undefined) throw new Error('inference response has no parameters.prediction_ids');
    const version = answer.model_version ?? 'unknown';
    versions[version] = (versions[version] ?? 0) + 1;
    outcomes.push({
      predictionId,
      label: set.y[row] as 0 | 1,
      at: new Date(at.getTime() + options.horizonDays * 86_400_000),
    });
    if ((k + 1) % 50 === 0 || k + 1 === n) options.onProgress({ stage: 'serve', done: k + 1, total: n });
  }
  await options.flush();
  await options.monitor.recordOutcomes(outcomes);
  latencies.sort((a, b) => a - b);
  return { requests: n, p50: percentile(latencies, 50), p99: percentile(latencies, 99), versions };
}
