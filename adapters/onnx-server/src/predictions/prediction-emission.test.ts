import { createHmac } from 'node:crypto';
import { featureMapOf, type InferenceRequest, type PredictionRecord } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { onnxServer } from '../adapter.js';
import type { OnnxServer, OnnxServerOptions } from '../onnx-server.js';
import {
  B1,
  B2,
  closeTestServers,
  logistic,
  modelV1,
  modelV2,
  patients,
  startTestServer,
  W1,
  W2,
} from '../testing/fixtures.js';

const KEY = 'emission-test-key-0123456789abcdef';
const table = patients(12);
const ids = [...table.keys()];
/** The pseudonym, computed here from its definition (HMAC-SHA256, first 128 bits, `p_`). */
const pseudonym = (id: string, key = KEY) =>
  `p_${createHmac('sha256', key).update(id).digest('hex').slice(0, 32)}`;

afterEach(closeTestServers);

/** v1 alone, no route (so v1 serves), emitting only on flush. */
const start = (options: Partial<OnnxServerOptions> = {}) =>
  startTestServer(
    table,
    { seed: 3, pseudonymKey: KEY, emitMaxDelayMs: 10_000, ...options },
    { versions: ['v1'], route: false },
  );

const byId = (list: string[], extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  inputs: [{ name: 'patient_id', shape: [list.length], datatype: 'BYTES', data: list }],
  ...extra,
});
const matrix = (rows: number[][], extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  inputs: [{ name: 'input', shape: [rows.length, rows[0]!.length], datatype: 'FP32', data: rows }],
  ...extra,
});

describe('predictions emitted', () => {
  it('one record per answered row: ids, pseudonym, score, features, site, simulated time', async () => {
    const { server, emitted } = await start();
    const chosen = ids.slice(2, 6);
    const response = await server.infer(
      'ae',
      byId(chosen, { id: 'req-1', parameters: { timestamp: '2026-03-01T08:00:00Z' } }),
    );
    expect(emitted).toEqual([]); // batched, not on the response path
    await server.flushPredictions();
    expect(response.parameters!.prediction_ids).toEqual(['req-1:0', 'req-1:1', 'req-1:2', 'req-1:3']);
    const scores = (response.outputs.find((o) => o.name === 'probabilities')!.data as number[]).filter(
      (_, i) => i % 2 === 1,
    );
    expect(emitted).toHaveLength(4);
    emitted.forEach((record, i) => {
      const patient = table.get(chosen[i]!)!;
      expect(record).toMatchObject({
        predictionId: `req-1:${i}`,
        model: 'ae',
        version: 'v1',
        entityKey: pseudonym(chosen[i]!),
        site: patient.site,
        fallback: false,
      });
      // The values the model read (FP32), by name.
      const f32 = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.fround(v));
      expect(featureMapOf(record.features!)).toEqual({
        a: f32(patient.row[0]),
        b: f32(patient.row[1]),
        c: f32(patient.row[2]),
        d: f32(patient.row[3]),
      });
      expect(record.score).toBe(scores[i]);
      expect(record.at.toISOString()).toBe('2026-03-01T08:00:00.000Z');
      expect(record.latencyMs).toBeGreaterThanOrEqual(0);
    });
    expect(featureMapOf(emitted[1]!.features!).b).toBeNull(); // P0003's missing b
  });

  it('matrix rows: entity key from parameters.entity_id, else from the generated prediction id', async () => {
    const { server, emitted } = await start();
    const rows = [
      [1, 2, 3, 4],
      [0, 0, 0, 0],
    ];
    const before = Date.now();
    const one = await server.infer('ae', matrix(rows, { parameters: { entity_id: 'P0009' } }));
    const each = await server.infer('ae', matrix(rows, { parameters: { entity_id: ['P0001', 'P0002'] } }));
    const none = await server.infer('ae', matrix(rows));
    await server.flushPredictions();
    expect(emitted.map((r) => r.entityKey)).toEqual([
      pseudonym('P0009'),
      pseudonym('P0009'),
      pseudonym('P0001'),
      pseudonym('P0002'),
      ...(none.parameters!.prediction_ids as string[]).map((id) => pseudonym(id)),
    ]);
    const generated = [one, each, none].flatMap((r) => r.parameters!.prediction_ids as string[]);
    expect(new Set(generated).size).toBe(6);
    for (const id of generated) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(emitted.map((r) => r.predictionId)).toEqual(generated);
    expect(emitted[0]!.at.getTime()).toBeGreaterThanOrEqual(before);
    expect(featureMapOf(emitted[0]!.features!)).toEqual({ a: 1, b: 2, c: 3, d: 4 });
    expect(emitted.every((r) => r.site === undefined)).toBe(true);
    await expect(server.infer('ae', matrix(rows, { parameters: { entity_id: ['P0001'] } }))).rejects.toThrow(
      /parameters\.entity_id: 1 ids for 2 rows/,
    );
    // parameters.site: the segment of every row of a matrix request, for per-site monitoring.
    await server.infer('ae', matrix(rows, { parameters: { entity_id: 'P0009', site: 'site-02' } }));
    await server.flushPredictions();
    expect(emitted.slice(-2).map((r) => r.site)).toEqual(['site-02', 'site-02']);
    await expect(server.infer('ae', matrix(rows, { parameters: { site: 7 } as never }))).rejects.toThrow(
      /parameters\.site: expected a site name/,
    );
  });

  it('sequence inputs (L·d wide): the features are the last step', async () => {
    const { server, emitted } = await start();
    // The same 4-wide graph read as 2 steps of 2 features (a, b).
    await server.load({ name: 'seq', version: 's1', artifact: { ...modelV1, featureNames: ['a', 'b'] } });
    await server.infer('seq', matrix([[1, 2, 3, 4]]));
    await server.flushPredictions();
    expect(emitted[0]).toMatchObject({ model: 'seq', version: 's1' });
    expect(featureMapOf(emitted[0]!.features!)).toEqual({ a: 3, b: 4 });
  });

  it('a mirror’s answers are emitted as shadow predictions of its version, joined to the served ones', async () => {
    const { server, emitted } = await start();
    await server.load({ name: 'ae', version: 'v2', artifact: modelV2 });
    await server.route('ae', {
      candidates: [{ version: 'v1', weight: 100 }],
      mirror: { version: 'v2', percent: 100 },
    });
    const rows = [
      [1, 2, 3, 4],
      [0.5, -1, 0, 2],
    ];
    const response = await server.infer(
      'ae',
      matrix(rows, { id: 'm', parameters: { entity_id: ['P0001', 'P0002'] } }),
    );
    expect(response.model_version).toBe('v1');
    await server.close(); // waits for the mirror and flushes
    const served = emitted.filter((r) => r.version === 'v1');
    const shadows = emitted.filter((r) => r.version === 'v2');
    expect(served.map((r) => r.predictionId)).toEqual(['m:0', 'm:1']);
    expect(shadows.map((r) => [r.predictionId, r.shadowOf, r.entityKey])).toEqual([
      ['m:0:shadow:v2', 'm:0', pseudonym('P0001')],
      ['m:1:shadow:v2', 'm:1', pseudonym('P0002')],
    ]);
    // The shadow's scores are v2's own (the logistic formula), not the served v1's.
    shadows.forEach((r, i) => {
      expect(r.score).toBeCloseTo(logistic(W2, B2, rows[i]!), 6);
      expect(served[i]!.score).toBeCloseTo(logistic(W1, B1, rows[i]!), 6);
      expect(served[i]!.shadowOf).toBeUndefined();
    });
  });

  it('fallback answers are emitted as such', async () => {
    const { server, emitted, ort: faulty, fallback } = await start();
    server.setFallback('ae', fallback);
    faulty.fail = true;
    await server.infer('ae', byId(['P0001']));
    await server.flushPredictions();
    expect(emitted[0]).toMatchObject({
      version: 'fallback-sum@1',
      fallback: true,
      entityKey: pseudonym('P0001'),
    });
  });

  it('never delays a response: stuck emits do not hold answers, and close flushes the rest', async () => {
    const releases: (() => void)[] = [];
    const batches: number[] = [];
    const { server } = await start({
      emitMaxRows: 3,
      emit: (records) => {
        batches.push(records.length);
        return new Promise<void>((resolve) => releases.push(resolve));
      },
    });
    for (let i = 0; i < 10; i++) await server.infer('ae', byId([ids[i]!]));
    // Every answer came back although no emit has finished.
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches.length).toBeGreaterThanOrEqual(1);
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(closed).toBe(false); // close waits for the emits in flight…
    for (const release of releases) release();
    await closing;
    // …and emitted what was left: every row, once.
    expect(batches.reduce((s, n) => s + n, 0)).toBe(10);
  });

  it('flushes on its timer', async () => {
    const { server, emitted } = await start({ emitMaxDelayMs: 30 });
    await server.infer('ae', byId(['P0001']));
    expect(emitted).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(emitted).toHaveLength(1);
  });

  it('reaches the kernel hook through the adapter descriptor', async () => {
    const ctx = await createTestContext();
    const server = (await onnxServer.create(
      onnxServer.config.parse({ pseudonymKey: KEY }),
      ctx,
    )) as OnnxServer;
    onTestFinished(() => server.close());
    await server.load({ name: 'ae', version: 'v1', artifact: modelV1 });
    await server.infer('ae', matrix([[1, 1, 1, 1]], { parameters: { entity_id: 'P0001' } }));
    await server.close();
    const hooks = ctx.emitted.filter((e) => e.hook === 'predictions');
    expect(hooks).toHaveLength(1);
    expect((hooks[0]!.arg as PredictionRecord[])[0]!.entityKey).toBe(pseudonym('P0001'));
    await ctx.cleanup();
  });
});

describe('no raw entity id leaves the server', () => {
  it('in emitted records or log lines, whatever path a request takes; the random-key warning is logged once', async () => {
    const {
      server,
      emitted,
      logs,
      ort: faulty,
      resolver,
      fallback,
    } = await start({ pseudonymKey: undefined });
    await server.infer('ae', byId(ids.slice(0, 4)));
    await server.infer('ae', matrix([[1, 2, 3, 4]], { parameters: { entity_id: ids[5]! } }));
    await server.risk('patients', ids[6]!);
    await server.risk('patients', 'P9999').catch(() => undefined); // unknown patient
    resolver.fail = true; // the store's error message names the patients
    await server.infer('ae', byId([ids[7]!])).catch(() => undefined);
    server.setFallback('ae', fallback);
    await server.infer('ae', byId([ids[8]!]));
    resolver.fail = false;
    faulty.fail = true;
    await server.infer('ae', byId([ids[9]!]));
    await server.risk('patients', ids[10]!);
    faulty.fail = false;
    resolver.explain = async () => {
      throw new Error(`cannot explain ${ids[11]}`);
    };
    await server.risk('patients', ids[11]!);
    await server.close();
    const everything = `${logs.join('')}\n${JSON.stringify(emitted)}`;
    expect(emitted.length).toBeGreaterThanOrEqual(9);
    expect(logs.some((l) => l.includes('answered from the fallback'))).toBe(true);
    for (const id of [...ids, 'P9999']) expect(everything).not.toContain(id);
    expect(logs.filter((l) => l.includes('pseudonymKey is not configured'))).toHaveLength(1);
    // Without a configured key the pseudonyms are still well-formed but not the configured key's.
    expect(emitted[0]!.entityKey).toMatch(/^p_[0-9a-f]{32}$/);
    expect(emitted[0]!.entityKey).not.toBe(pseudonym(ids[0]!));
  });
});
