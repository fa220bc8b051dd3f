import { nearestRankQuantileSorted } from '@vigil/core';
import type { InferRequest, OutputSignature } from '../options.js';
import type { CheckReport, CheckStep, Upstream } from '../proxy/upstream.js';
import { answerError, callUpstream } from './upstream-call.js';

interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

export interface CheckContext {
  model: string;
  /** The operator's smoke request, else the configured one, else one derived from metadata. */
  request: InferRequest | undefined;
  /** The operator's expected output signature. */
  expect: OutputSignature | undefined;
  /** The live color, whose answer to the same request the candidate's must match in shape. */
  reference: Upstream | undefined;
  samples: number;
  timeoutMs: number;
  key: string | undefined;
}

const isTensorMeta = (t: unknown): t is TensorMeta => {
  const v = t as Partial<TensorMeta> | null;
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof v.name === 'string' &&
    typeof v.datatype === 'string' &&
    Array.isArray(v.shape) &&
    v.shape.every((d) => Number.isInteger(d))
  );
};

/** One row of zeros (false, '' for BOOL, BYTES) for each input the metadata declares. */
export function requestFromMetadata(inputs: readonly TensorMeta[]): InferRequest {
  return {
    inputs: inputs.map((input) => {
      const shape = input.shape.map((d) => (d < 0 ? 1 : d));
      const size = shape.reduce((a, b) => a * b, 1);
      const zero = input.datatype === 'BOOL' ? false : input.datatype === 'BYTES' ? '' : 0;
      return { name: input.name, shape, datatype: input.datatype, data: Array(size).fill(zero) };
    }),
  };
}

const signatureOf = (outputs: readonly TensorMeta[]) =>
  outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: [...o.shape] }));

const dimsMatch = (actual: readonly number[], expected: readonly number[]) =>
  actual.length === expected.length && expected.every((d, i) => d === -1 || d === actual[i]);

const describe = (s: readonly TensorMeta[]) =>
  s.map((o) => `${o.name}:${o.datatype}[${o.shape.join(',')}]`).join(' ') || '(none)';

/** Why `actual` does not match `expected` (names and datatypes in order, shapes with -1 wildcards), or undefined. */
export function signatureMismatch(
  actual: readonly TensorMeta[],
  expected: readonly TensorMeta[],
): string | undefined {
  const ok =
    actual.length === expected.length &&
    expected.every(
      (e, i) =>
        actual[i]!.name === e.name &&
        actual[i]!.datatype === e.datatype &&
        dimsMatch(actual[i]!.shape, e.shape),
    );
  return ok ? undefined : `outputs ${describe(actual)}, expected ${describe(expected)}`;
}

/** Answer outputs not declared by the metadata (by name), or with another datatype or rank. */
function undeclared(actual: readonly TensorMeta[], declared: readonly TensorMeta[]): string | undefined {
  for (const a of actual) {
    const d = declared.find((o) => o.name === a.name);
    if (!d) return `output '${a.name}' is not in the model metadata (${describe(declared)})`;
    if (d.datatype !== a.datatype)
      return `output '${a.name}' is ${a.datatype}; the metadata says ${d.datatype}`;
    if (!dimsMatch(a.shape, d.shape)) {
      return `output '${a.name}' has shape [${a.shape.join(',')}]; the metadata says [${d.shape.join(',')}]`;
    }
  }
  return undefined;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * Check an upstream before it takes traffic: live, ready, the model ready, its metadata, a
 * smoke inference (`samples` times, reporting p50 and max latency), and the answer's output
 * signature against the metadata and against the operator's `expect` or, without one, the
 * live color's answer to the same request. Stops at the first failing step; never throws.
 */
export async function runCheck(upstream: Upstream, context: CheckContext): Promise<CheckReport> {
  const started = performance.now();
  const steps: CheckStep[] = [];
  const report: CheckReport = {
    color: upstream.color,
    url: upstream.href,
    model: context.model,
    ok: false,
    at: 0,
    totalMs: 0,
    steps,
  };
  const finish = (reason?: string): CheckReport => {
    report.ok = reason === undefined;
    if (reason !== undefined) report.reason = reason;
    report.at = Date.now();
    report.totalMs = round(performance.now() - started);
    return report;
  };
  const call = { timeoutMs: context.timeoutMs, key: context.key };
  const model = encodeURIComponent(context.model);
  const step = async (
    name: CheckStep['name'],
    run: () => Promise<{ ok: boolean; detail?: string }>,
  ): Promise<boolean> => {
    const t = performance.now();
    let result: { ok: boolean; detail?: string };
    try {
      result = await run();
    } catch (error) {
      result = { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
    steps.push({
      name,
      ok: result.ok,
      ms: round(performance.now() - t),
      ...(result.detail ? { detail: result.detail } : {}),
    });
    return result.ok;
  };
  const statusStep = (path: string, extra?: (json: unknown) => string | undefined) => async () => {
    const r = await callUpstream(upstream, 'GET', path, call);
    if (r.status !== 200) return { ok: false, detail: `GET ${path} answered ${r.status}: ${answerError(r)}` };
    const problem = extra?.(r.json);
    return problem ? { ok: false, detail: problem } : { ok: true };
  };
  const failed = () => {
    const last = steps[steps.length - 1]!;
    return `${last.name}: ${last.detail ?? 'failed'}`;
  };

  if (!(await step('live', statusStep('/v2/health/live')))) return finish(failed());
  if (!(await step('ready', statusStep('/v2/health/ready')))) return finish(failed());
  const modelReady = statusStep(`/v2/models/${model}/ready`, (json) =>
    (json as { ready?: unknown } | undefined)?.ready === true
      ? undefined
      : `model '${context.model}' is not ready`,
  );
  if (!(await step('model-ready', modelReady))) return finish(failed());

  let declaredInputs: TensorMeta[] = [];
  let declaredOutputs: TensorMeta[] = [];
  const metadata = async () => {
    const r = await callUpstream(upstream, 'GET', `/v2/models/${model}`, call);
    if (r.status !== 200)
      return { ok: false, detail: `GET /v2/models/${context.model} answered ${r.status}: ${answerError(r)}` };
    const meta = r.json as { inputs?: unknown; outputs?: unknown; versions?: unknown } | undefined;
    if (!Array.isArray(meta?.inputs) || !meta.inputs.every(isTensorMeta))
      return { ok: false, detail: 'metadata: inputs is not a list of {name, datatype, shape}' };
    if (!Array.isArray(meta.outputs) || !meta.outputs.every(isTensorMeta))
      return { ok: false, detail: 'metadata: outputs is not a list of {name, datatype, shape}' };
    declaredInputs = meta.inputs;
    declaredOutputs = meta.outputs;
    const versions = Array.isArray(meta.versions) ? meta.versions.join(', ') : '?';
    return { ok: true, detail: `versions ${versions}; inputs ${describe(declaredInputs)}` };
  };
  if (!(await step('metadata', metadata))) return finish(failed());

  const request = context.request ?? requestFromMetadata(declaredInputs);
  const path = `/v2/models/${model}/infer`;
  let outputs: TensorMeta[] = [];
  const infer = async () => {
    const latencies: number[] = [];
    for (let i = 0; i < context.samples; i++) {
      const r = await callUpstream(upstream, 'POST', path, { ...call, body: request });
      if (r.status !== 200)
        return { ok: false, detail: `POST ${path} answered ${r.status}: ${answerError(r)}` };
      const answer = r.json as { outputs?: unknown; model_version?: unknown } | undefined;
      if (!Array.isArray(answer?.outputs) || !answer.outputs.every(isTensorMeta))
        return {
          ok: false,
          detail: `POST ${path}: the answer has no outputs list of {name, datatype, shape}`,
        };
      if (i === 0) {
        outputs = answer.outputs;
        if (typeof answer.model_version === 'string') report.modelVersion = answer.model_version;
      }
      latencies.push(r.ms);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    report.latencyMs = {
      samples: sorted.length,
      p50: round(nearestRankQuantileSorted(sorted, 0.5)),
      max: round(sorted[sorted.length - 1]!),
    };
    report.outputs = signatureOf(outputs);
    return {
      ok: true,
      detail: `model_version ${report.modelVersion ?? '?'}; p50 ${report.latencyMs.p50} ms`,
    };
  };
  if (!(await step('infer', infer))) return finish(failed());

  const shape = async () => {
    const problem = undeclared(outputs, declaredOutputs);
    if (problem) return { ok: false, detail: problem };
    if (context.expect) {
      const mismatch = signatureMismatch(outputs, context.expect);
      return mismatch
        ? { ok: false, detail: `against expect: ${mismatch}` }
        : { ok: true, detail: 'matches expect' };
    }
    const reference = context.reference;
    if (!reference || reference === upstream)
      return { ok: true, detail: 'matches its metadata (no live color to compare)' };
    let live: TensorMeta[];
    try {
      const r = await callUpstream(reference, 'POST', path, { ...call, body: request });
      const answer = r.json as { outputs?: unknown } | undefined;
      if (r.status !== 200 || !Array.isArray(answer?.outputs) || !answer.outputs.every(isTensorMeta)) {
        return {
          ok: true,
          detail: `matches its metadata; the live ${reference.color} did not answer the request (${r.status})`,
        };
      }
      live = answer.outputs;
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return {
        ok: true,
        detail: `matches its metadata; the live ${reference.color} is unreachable (${why})`,
      };
    }
    const mismatch = signatureMismatch(outputs, signatureOf(live));
    return mismatch
      ? { ok: false, detail: `against the live ${reference.color}: ${mismatch}` }
      : { ok: true, detail: `matches the live ${reference.color}` };
  };
  if (!(await step('shape', shape))) return finish(failed());
  return finish();
}
