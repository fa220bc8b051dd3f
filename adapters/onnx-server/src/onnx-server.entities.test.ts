import type { InferenceRequest, InferenceResponse } from '@vigil/core';
import { isVigilError } from '@vigil/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { OnnxServerOptions } from './onnx-server.js';
import {
  B1,
  B2,
  closeTestServers,
  FEATURES,
  logistic,
  patients,
  startTestServer,
  W1,
  W2,
} from './testing/fixtures.js';

const KEY = 'test-pseudonym-key-0123456789';
const table = patients(40);
const ids = [...table.keys()];

const start = (
  options: Partial<OnnxServerOptions> = {},
  setup: { resolver?: boolean; fallback?: boolean; route?: boolean } = {},
) =>
  startTestServer(
    table,
    { pseudonymKey: KEY, ...options },
    {
      resolver: setup.resolver,
      fallback: setup.fallback,
      ...(setup.route === false ? { route: false as const } : {}),
    },
  );
afterEach(closeTestServers);

const byId = (n: number, first = 0, extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  inputs: [{ name: 'patient_id', shape: [n], datatype: 'BYTES', data: ids.slice(first, first + n) }],
  ...extra,
});
const matrix = (rows: (number | null)[][], extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows }],
  ...extra,
});
const p1 = (r: InferenceResponse) =>
  (r.outputs.find((o) => o.name === 'probabilities')!.data as number[]).filter((_, i) => i % 2 === 1);
const weightsOf = (version: string) => (version === 'v1' ? { w: W1, b: B1 } : { w: W2, b: B2 });

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isVigilError(error) ? `${error.code}: ${error.message}` : `Error: ${(error as Error).message}`;
  }
  return 'resolved';
}

describe('entity-id requests', () => {
  it('score the resolver rows: equal to the matrix request and to the logistic formula', async () => {
    const { server } = await start();
    const response = await server.infer('ae', byId(5), { version: 'v1' });
    const rows = ids.slice(0, 5).map((id) => table.get(id)!.row);
    const viaMatrix = await server.infer('ae', matrix(rows), { version: 'v1' });
    expect(p1(response)).toEqual(p1(viaMatrix));
    rows.forEach((row, r) => {
      expect(p1(response)[r]).toBeCloseTo(logistic(W1, B1, row), 5);
    });
    expect(response.outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);
    expect(response.parameters!.feature_timestamps).toEqual(
      ids.slice(0, 5).map((id) => table.get(id)!.timestamps),
    );
    expect((response.parameters!.prediction_ids as string[]).length).toBe(5);
    expect(response.parameters!.fallback).toBe(false);
    // Patient P0003 has a missing b: its timestamp is null.
    expect((response.parameters!.feature_timestamps as Record<string, unknown>[])[3]!.b).toBeNull();
  });

  it('route stickily by entity id: a patient always gets the version its id hashes to', async () => {
    const { server } = await start();
    const seen = new Set<string>();
    for (const id of ids) {
      const request: InferenceRequest = {
        inputs: [{ name: 'patient_id', shape: [1], datatype: 'BYTES', data: [id] }],
      };
      const first = (await server.infer('ae', request)).model_version!;
      for (let k = 0; k < 3; k++) expect((await server.infer('ae', request)).model_version).toBe(first);
      // The same version as a matrix request pinned with the id as route key.
      const pinned = await server.infer('ae', matrix([table.get(id)!.row]), { routeKey: id });
      expect(pinned.model_version).toBe(first);
      const { w, b } = weightsOf(first);
      expect(p1(await server.infer('ae', request))[0]).toBeCloseTo(logistic(w, b, table.get(id)!.row), 5);
      seen.add(first);
    }
    expect([...seen].sort()).toEqual(['v1', 'v2']);
  });

  it('without a resolver, an entity id input is a 400 naming the input', async () => {
    const { server } = await start({}, { resolver: false });
    expect(await failure(server.infer('ae', byId(1)))).toMatch(
      /VIGIL_SERVER_INVALID_REQUEST: inputs\[0\]\.name: 'patient_id' is an entity id input, but this server has no entity resolver/,
    );
  });

  it('reject malformed id tensors, naming the field', async () => {
    const { server } = await start();
    const bad = (tensor: Record<string, unknown>) =>
      failure(server.infer('ae', { inputs: [{ name: 'patient_id', ...tensor }] } as InferenceRequest));
    expect(await bad({ shape: [1], datatype: 'FP32', data: ['P0001'] })).toMatch(
      /inputs\[0\]\.datatype: .* must be BYTES/,
    );
    expect(await bad({ shape: [1, 2], datatype: 'BYTES', data: ['P0001', 'P0002'] })).toMatch(
      /inputs\[0\]\.shape/,
    );
    expect(await bad({ shape: [2], datatype: 'BYTES', data: ['P0001'] })).toMatch(
      /inputs\[0\]\.data: 1 ids for shape \[2\]/,
    );
    expect(await bad({ shape: [1], datatype: 'BYTES', data: [7] })).toMatch(
      /inputs\[0\]\.data\[0\]: expected an entity id/,
    );
    expect(await bad({ shape: [0], datatype: 'BYTES', data: [] })).toMatch(/between 1 and/);
    expect(await failure(server.infer('ae', byId(1, 0, { parameters: { timestamp: 'yesterday' } })))).toMatch(
      /parameters\.timestamp: expected an ISO 8601 time/,
    );
    expect(await failure(server.infer('ae', byId(1, 0, { outputs: [{ name: 'nope' }] })))).toMatch(
      /outputs\[0\]\.name/,
    );
  });

  it('an unknown entity is VIGIL_SERVER_UNKNOWN_ENTITY, also with a fallback, and is not an error of the version', async () => {
    const { server } = await start({}, { fallback: true });
    const request: InferenceRequest = {
      inputs: [{ name: 'patient_id', shape: [1], datatype: 'BYTES', data: ['NOPE'] }],
    };
    expect(await failure(server.infer('ae', request, { version: 'v1' }))).toMatch(
      /^VIGIL_SERVER_UNKNOWN_ENTITY/,
    );
    expect(server.stats().ae!.v1!.errors).toBe(0);
  });
});

describe('clinician risk', () => {
  it('answers probability, band, top-5 drivers, explanation, model and timestamps', async () => {
    const { server, resolver } = await start();
    const id = 'P0003';
    const answer = await server.risk('patients', id);
    const version = answer.model.version;
    const { w, b } = weightsOf(version);
    const row = table.get(id)!.row;
    expect(answer.patient_id).toBe(id);
    expect(answer.probability!).toBeCloseTo(logistic(w, b, row), 5);
    expect(answer.band).toBe(resolver.band(answer.probability!));
    expect(answer.model).toEqual({ name: 'ae', version });
    expect(answer.feature_timestamps).toEqual(table.get(id)!.timestamps);
    expect(answer.fallback).toBe(false);
    expect(resolver.explained.at(-1)).toMatchObject({ version, k: 5 });
    expect(answer.drivers.map((d) => d.feature).sort()).toEqual([...FEATURES].sort());
    expect(answer.explanation!.method).toBe('linear-shap');
    // base + Σ contributions = logit = σ⁻¹(probability)
    const logit = answer.explanation!.base + answer.drivers.reduce((s, d) => s + d.contribution, 0);
    expect(logit).toBeCloseTo(answer.explanation!.logit, 9);
    expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(answer.probability!, 5);
    // Sticky: the same patient always gets the same version, the one its id routes to.
    for (let k = 0; k < 5; k++) expect((await server.risk('patients', id)).model.version).toBe(version);
    expect((await server.infer('ae', matrix([row]), { routeKey: id })).model_version).toBe(version);
  });

  it('unknown patients, collections and models are 404 codes', async () => {
    const { server } = await start();
    expect(await failure(server.risk('patients', 'NOPE'))).toMatch(/^VIGIL_SERVER_UNKNOWN_ENTITY/);
    expect(await failure(server.risk('doctors', 'P0001'))).toMatch(/^VIGIL_SERVER_UNKNOWN_ENTITY/);
    expect(await failure(server.risk('patients', 'P0001', 'zz'))).toMatch(/^VIGIL_SERVER_UNKNOWN_MODEL/);
    expect((await server.risk('patients', 'P0001', 'ae')).model.name).toBe('ae');
  });
});

describe('fallback', () => {
  it('answers when the model throws: same shape, fallback version, reason model-error', async () => {
    const h = await start({}, { fallback: true });
    h.ort.fail = true;
    const rows = [
      [0.5, 1, -1, 2],
      [0, 0, 0, 0],
    ];
    const response = await h.server.infer('ae', matrix(rows), { version: 'v1' });
    expect(response.model_version).toBe('fallback-sum@1');
    expect(response.parameters).toMatchObject({ fallback: true, fallback_reason: 'model-error' });
    const expected = Array.from(h.fallback.score(new Float32Array(rows.flat()), 2));
    expect(p1(response)).toEqual(expected);
    expect(response.outputs.find((o) => o.name === 'label')!.data).toEqual(
      expected.map((p) => (p >= 0.5 ? 1 : 0)),
    );
    expect(response.outputs.find((o) => o.name === 'probabilities')!.shape).toEqual([2, 2]);
    const stats = h.server.stats().ae!.v1!;
    expect(stats).toMatchObject({ served: 0, errors: 1, fallbacks: 1 });
    // Without a fallback the model's failure reaches the caller, and is counted.
    h.server.setFallback('ae', undefined);
    expect(await failure(h.server.infer('ae', matrix(rows), { version: 'v1' }))).toMatch(
      /simulated kernel failure/,
    );
    expect(h.server.stats().ae!.v1!).toMatchObject({ errors: 2, fallbacks: 1 });
  });

  it('an outage logs one fallback line per model, version and reason, not one per request', async () => {
    const h = await start({}, { fallback: true });
    h.ort.fail = true;
    const row = matrix([[0.5, 1, -1, 2]]);
    for (let i = 0; i < 50; i++) await h.server.infer('ae', row, { version: 'v1' });
    for (let i = 0; i < 50; i++) await h.server.infer('ae', row, { version: 'v2' });
    const fallbackLines = h.logs.filter((l) => l.includes('answered from the fallback'));
    expect(fallbackLines.map((l) => JSON.parse(l).version)).toEqual(['v1', 'v2']);
    expect(h.server.stats().ae!.v1!).toMatchObject({ fallbacks: 50 });
  });

  it('answers when the online store throws: the fallback scores an all-missing row', async () => {
    const h = await start({}, { fallback: true });
    h.resolver.fail = true;
    const response = await h.server.infer('ae', byId(2), { version: 'v2' });
    expect(response.parameters).toMatchObject({ fallback: true, fallback_reason: 'features-unavailable' });
    expect(response.parameters!.feature_timestamps).toEqual([null, null]);
    expect(Array.from(h.fallback.seen.at(-1)!).every(Number.isNaN)).toBe(true);
    expect(p1(response)).toEqual([0.5, 0.5]);
    const risk = await h.server.risk('patients', 'P0001');
    expect(risk).toMatchObject({
      fallback: true,
      fallback_reason: 'features-unavailable',
      probability: 0.5,
      drivers: [],
    });
    expect(risk.model.version).toBe('fallback-sum@1');
    // Without a fallback: 503-class VIGIL_SERVER_FEATURES_UNAVAILABLE whose message does not name the patient.
    h.server.setFallback('ae', undefined);
    const message = await failure(h.server.infer('ae', byId(1), { version: 'v2' }));
    expect(message).toMatch(/^VIGIL_SERVER_FEATURES_UNAVAILABLE/);
    expect(message).not.toContain('P0000');
  });

  it('answers at the deadline when the store or the model is slow, with the rows it has', async () => {
    const h = await start({ deadlineMs: 30 }, { fallback: true });
    h.resolver.delayMs = 600;
    let t0 = performance.now();
    const slowStore = await h.server.infer('ae', byId(1), { version: 'v1' });
    expect(performance.now() - t0).toBeLessThan(400);
    expect(slowStore.parameters).toMatchObject({ fallback: true, fallback_reason: 'deadline' });
    expect(p1(slowStore)).toEqual([0.5]); // no features yet: all missing
    h.resolver.delayMs = 0;
    h.ort.delayMs = 600;
    t0 = performance.now();
    const slowModel = await h.server.infer('ae', byId(1, 1), { version: 'v1' });
    expect(performance.now() - t0).toBeLessThan(400);
    expect(slowModel.parameters).toMatchObject({ fallback: true, fallback_reason: 'deadline' });
    // The features had arrived: the fallback scored them.
    const row = table.get('P0001')!.row.map((v) => v ?? Number.NaN);
    expect(p1(slowModel)[0]).toBe(h.fallback.score(new Float32Array(row), 1)[0]);
    expect(h.server.stats().ae!.v1).toMatchObject({ errors: 2, fallbacks: 2 });
  });

  it('a deadline of 0 always falls back; without a fallback there is no deadline', async () => {
    const h = await start({ deadlineMs: 0 }, { fallback: true });
    const response = await h.server.infer('ae', matrix([[1, 2, 3, 4]]), { version: 'v1' });
    expect(response.parameters).toMatchObject({ fallback: true, fallback_reason: 'deadline' });
    h.server.setFallback('ae', undefined);
    h.ort.delayMs = 60;
    const slow = await h.server.infer('ae', matrix([[1, 2, 3, 4]]), { version: 'v1' });
    expect(slow.model_version).toBe('v1');
    expect(p1(slow)[0]).toBeCloseTo(logistic(W1, B1, [1, 2, 3, 4]), 5);
  });
});

describe('stats for canary analysis', () => {
  it('counts served, errors, fallbacks per version and reports latency p50/p99 of recent answers', async () => {
    const h = await start({ latencyWindow: 8 });
    for (let i = 0; i < 5; i++) await h.server.infer('ae', matrix([[1, 1, 1, 1]]), { version: 'v1' });
    h.ort.delayMs = 120;
    for (let i = 0; i < 3; i++) await h.server.infer('ae', matrix([[1, 1, 1, 1]]), { version: 'v1' });
    const s = h.server.stats().ae!.v1!;
    expect(s).toMatchObject({ served: 8, errors: 0, fallbacks: 0 });
    // 5 fast answers and 3 of ≥ 120 ms: the median is fast, p99 is slow.
    expect(s.latencyP50Ms!).toBeLessThan(100);
    expect(s.latencyP99Ms!).toBeGreaterThanOrEqual(115);
    // The window keeps the last 8 only: 8 more fast answers push the slow ones out.
    h.ort.delayMs = 0;
    for (let i = 0; i < 8; i++) await h.server.infer('ae', matrix([[1, 1, 1, 1]]), { version: 'v1' });
    expect(h.server.stats().ae!.v1!.latencyP99Ms!).toBeLessThan(100);
    expect(h.server.stats().ae!.v2).toMatchObject({ served: 0, latencyP50Ms: null, latencyP99Ms: null });
  });
});
