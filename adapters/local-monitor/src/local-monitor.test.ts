import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isVigilError, type Monitor, type PredictionRecord } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { register as globalRegistry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localMonitor } from './local-monitor-adapter.js';

let ctx: TestContext;
const opened: Monitor[] = [];

async function open(config: Record<string, unknown> = {}): Promise<Monitor> {
  const monitor = await localMonitor.create(localMonitor.config.parse(config), ctx);
  opened.push(monitor);
  return monitor;
}

const at = new Date('2025-03-01T10:00:00Z');
const p = (id: string, score: number, extra: Partial<PredictionRecord> = {}): PredictionRecord => ({
  predictionId: id,
  model: 'ae',
  version: '3',
  entityKey: `PATIENT-${id}`,
  score,
  at,
  ...extra,
});

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isVigilError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  ctx = await createTestContext();
});

afterEach(async () => {
  for (const monitor of opened.splice(0)) await monitor.close();
  await ctx.cleanup();
});

describe('local monitor', () => {
  it('appends NDJSON journals under <workdir>/<dir>', async () => {
    const monitor = await open({ dir: 'mon' });
    await monitor.recordPredictions([p('a', 0.25, { features: { hr: 88, ast: null } })]);
    await monitor.recordOutcomes([{ predictionId: 'a', label: 1, at }]);
    const predictions = (await readFile(join(ctx.workdir, 'mon', 'predictions.ndjson'), 'utf8'))
      .trim()
      .split('\n');
    expect(predictions.map((l) => JSON.parse(l))).toEqual([
      {
        predictionId: 'a',
        model: 'ae',
        version: '3',
        entityKey: 'PATIENT-a',
        score: 0.25,
        at: '2025-03-01T10:00:00.000Z',
        features: { hr: 88, ast: null },
      },
    ]);
    const outcomes = await readFile(join(ctx.workdir, 'mon', 'outcomes.ndjson'), 'utf8');
    expect(outcomes).toBe('{"predictionId":"a","label":1,"at":"2025-03-01T10:00:00.000Z"}\n');
  });

  it('sees what another instance (another process) recorded on the same journals', async () => {
    const server = await open();
    const labeller = await open();
    await server.recordPredictions([p('a', 0.9), p('b', 0.2)]);
    await labeller.recordOutcomes([
      { predictionId: 'a', label: 1, at },
      { predictionId: 'b', label: 0, at },
    ]);
    const fromServer = await server.evaluate({ model: 'ae' });
    expect(fromServer).toMatchObject({ predictions: 2, labelled: 2, auroc: 1 });
    expect(await labeller.evaluate({ model: 'ae' })).toEqual(fromServer);
  });

  it('skips a line torn by a crash and keeps appending cleanly after it', async () => {
    const first = await open();
    await first.recordPredictions([p('a', 0.4)]);
    await first.close();
    await appendFile(join(ctx.workdir, 'monitor', 'predictions.ndjson'), '{"predictionId":"b","mod');
    const second = await open();
    await second.recordPredictions([p('c', 0.6)]);
    expect((await second.evaluate({ model: 'ae' })).predictions).toBe(2);
    const third = await open();
    expect((await third.evaluate({ model: 'ae' })).predictions).toBe(2);
  });

  it('rejects a bad batch whole, naming every field, never echoing identifiers', async () => {
    const monitor = await open();
    const error = await rejection(
      monitor.recordPredictions([
        p('ok', 0.5),
        p('x1', 1.5),
        p('x2', 0.5, { at: new Date('2025-13-40') }),
        p('x3', 0.5, { model: '' }),
        { ...p('x4', 0.5), entityKey: undefined } as unknown as PredictionRecord,
      ]),
    );
    expect(error.code).toBe('VIGIL_MONITOR_INVALID_RECORD');
    expect(error.message).toContain('4 of 5 records rejected');
    expect(error.message).toContain('record 1: score must be in [0, 1], got 1.5');
    expect(error.message).toContain('record 2: at must be a valid Date');
    expect(error.details?.issues).toEqual([
      expect.objectContaining({ index: 1, field: 'score' }),
      expect.objectContaining({ index: 2, field: 'at' }),
      expect.objectContaining({ index: 3, field: 'model' }),
      expect.objectContaining({ index: 4, field: 'entityKey' }),
    ]);
    expect(error.message).not.toMatch(/PATIENT|x1|x2|x3|x4/);
    const text = await monitor.metrics();
    expect(text).toContain('vigil_monitor_rejected_total{reason="invalid_score"} 1');
    expect(text).toContain('vigil_monitor_rejected_total{reason="invalid_entityKey"} 1');
    expect((await monitor.evaluate({ model: 'ae' })).predictions).toBe(0);
    const label = await rejection(
      monitor.recordOutcomes([{ predictionId: 'ok', label: true as unknown as 1, at }]),
    );
    expect(label.message).toContain('label must be 0 or 1, got true');
    expect((await rejection(monitor.recordPredictions('nope' as never))).message).toContain('array');
    expect((await rejection(monitor.evaluate({ model: 'ae', threshold: 2 }))).message).toContain('threshold');
    expect((await rejection(monitor.evaluate({ model: '' }))).message).toContain('model');
  });

  it('keeps its metrics in its own registry, with score buckets 0.1 … 1', async () => {
    const one = await open();
    const two = await open();
    await one.recordPredictions([p('a', 0.05), p('b', 0.35), p('c', 1)]);
    const text = await one.metrics();
    expect(text).toContain('vigil_prediction_score_bucket{le="0.1",model="ae",version="3"} 1');
    expect(text).toContain('vigil_prediction_score_bucket{le="0.4",model="ae",version="3"} 2');
    expect(text).toContain('vigil_prediction_score_bucket{le="1",model="ae",version="3"} 3');
    expect(text).toContain('vigil_predictions_total{model="ae",version="3"} 3');
    expect(await two.metrics()).not.toContain('vigil_predictions_total{');
    expect(await globalRegistry.metrics()).not.toContain('vigil_');
  });

  it('counts an early outcome once, when its prediction arrives', async () => {
    const monitor = await open();
    await monitor.recordOutcomes([{ predictionId: 'a', label: 1, at }]);
    expect(await monitor.metrics()).not.toContain('vigil_outcomes_total{');
    await monitor.recordPredictions([p('a', 0.7)]);
    await monitor.recordPredictions([p('a', 0.7)]);
    expect(await monitor.metrics()).toContain('vigil_outcomes_total{model="ae",version="3",label="1"} 1');
  });

  it('sets the AUROC gauge per evaluated version ("all" unfiltered) and drops it when undefined', async () => {
    const monitor = await open();
    await monitor.recordPredictions([p('a', 0.9), p('b', 0.1), p('c', 0.95, { version: '4' })]);
    await monitor.recordOutcomes([
      { predictionId: 'a', label: 1, at },
      { predictionId: 'b', label: 0, at },
      { predictionId: 'c', label: 0, at },
    ]);
    await monitor.evaluate({ model: 'ae' });
    await monitor.evaluate({ model: 'ae', version: '3' });
    let text = await monitor.metrics();
    expect(text).toContain('vigil_model_auroc{model="ae",version="all"} 0.5');
    expect(text).toContain('vigil_model_auroc{model="ae",version="3"} 1');
    await monitor.evaluate({ model: 'ae', version: '3', since: new Date('2030-01-01') });
    text = await monitor.metrics();
    expect(text).not.toContain('vigil_model_auroc{model="ae",version="3"}');
  });

  it('serves /metrics with prom-client content type, answers HEAD, refuses POST, stops on close', async () => {
    const monitor = await open();
    await monitor.recordPredictions([p('a', 0.3)]);
    const { url } = await monitor.listen({});
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const get = await fetch(url);
    expect(get.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await get.text()).toContain('vigil_predictions_total{model="ae",version="3"} 1');
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    await post.arrayBuffer();
    await monitor.close();
    await expect(fetch(url)).rejects.toThrow();
    expect((await rejection(monitor.metrics())).code).toBe('VIGIL_KERNEL_CLOSED');
  });

  it('journals site, latency and fallback, so a new instance evaluates windows and sites the same', async () => {
    const first = await open();
    const day = 86_400_000;
    await first.recordPredictions([
      p('a', 0.9, { site: 'A', latencyMs: 12, at: new Date(+at - 2 * day) }),
      p('b', 0.2, { site: 'A', latencyMs: 30, fallback: true }),
      p('c', 0.7, { site: 'B', latencyMs: 4 }),
      p('d', 0.4, { site: 'B' }),
    ]);
    await first.recordOutcomes(
      ['a', 'b', 'c', 'd'].map((id, i) => ({ predictionId: id, label: (i % 2 ? 0 : 1) as 0 | 1, at })),
    );
    const requests = [
      { model: 'ae' },
      { model: 'ae', site: 'A' },
      { model: 'ae', window: 'day' as const },
      { model: 'ae', window: 'day' as const, site: 'B' },
    ];
    const before = await Promise.all(requests.map((r) => first.evaluate(r)));
    expect(before.map((e) => e.predictions)).toEqual([4, 2, 3, 2]);
    expect(before[0]).toMatchObject({ fallbackRate: 0.25, latencyP50Ms: 12, latencyP99Ms: 30 });
    await first.close();
    const second = await open();
    expect(await Promise.all(requests.map((r) => second.evaluate(r)))).toEqual(before);
  });

  it('rejects a bad evaluate or drift request naming the field', async () => {
    const monitor = await open();
    const message = async (promise: Promise<unknown>) => (await rejection(promise)).message;
    expect(await message(monitor.evaluate({ model: 'ae', window: 'month' as 'day' }))).toMatch(
      /^evaluate: window must be one of day, week, got "month"/,
    );
    expect(await message(monitor.evaluate({ model: 'ae', site: '' }))).toContain('evaluate: site must be');
    expect(await message(monitor.evaluate({ model: 'ae', until: new Date(Number.NaN) }))).toContain(
      'evaluate: until must be a valid Date',
    );
    const drift = monitor.drift!.bind(monitor);
    expect(await message(drift({ model: 'ae' } as never))).toContain('drift: reference must be an object');
    expect(await message(drift({ model: 'ae', reference: { since: new Date('x') } }))).toContain(
      'drift: reference.since must be a valid Date',
    );
    expect(await message(drift({ model: 'ae', reference: {}, driftShare: 2 }))).toContain(
      'drift: driftShare',
    );
    expect(await message(drift({ model: 'ae', reference: {}, features: [''] }))).toContain('drift: features');
    expect((await rejection(drift({ model: 'ae', reference: {}, window: 'x' as 'day' }))).code).toBe(
      'VIGIL_MONITOR_INVALID_RECORD',
    );
    const empty = await drift({ model: 'ae', reference: {} });
    expect(empty).toMatchObject({ features: [], driftShare: 0, datasetDrift: false, scorePsi: null });
  });

  it('refuses config that leaves the workdir or has unknown keys', () => {
    expect(localMonitor.config.safeParse({ dir: '../x' }).success).toBe(false);
    expect(localMonitor.config.safeParse({ dir: '/x' }).success).toBe(false);
    expect(localMonitor.config.safeParse({ port: 9090 }).success).toBe(false);
    expect(localMonitor.config.parse({})).toEqual({ dir: 'monitor', threshold: 0.5 });
    expect(localMonitor.config.safeParse({ threshold: 1.5 }).success).toBe(false);
  });

  it('joins a shadow answer to the outcome of the prediction it shadows, and keeps shadows out of unversioned views', async () => {
    const monitor = await open();
    // Served by v3; v4 answered the same rows in shadow (its scores inverted).
    const served = [p('a', 0.9), p('b', 0.2), p('c', 0.7), p('d', 0.1)];
    const shadows = served.map((r) =>
      p(`${r.predictionId}:shadow:4`, 1 - r.score, { version: '4', shadowOf: r.predictionId }),
    );
    await monitor.recordPredictions([...served, shadows[0]!, shadows[1]!]);
    const labels: [string, 0 | 1][] = [
      ['a', 1],
      ['b', 0],
      ['c', 1],
      ['d', 0],
    ];
    await monitor.recordOutcomes(labels.map(([predictionId, label]) => ({ predictionId, label, at })));
    // Shadows that arrive after their outcome join it too.
    await monitor.recordPredictions([shadows[2]!, shadows[3]!]);
    expect(await monitor.evaluate({ model: 'ae', version: '3' })).toMatchObject({ labelled: 4, auroc: 1 });
    expect(await monitor.evaluate({ model: 'ae', version: '4' })).toMatchObject({ labelled: 4, auroc: 0 });
    expect(await monitor.evaluate({ model: 'ae' })).toMatchObject({ predictions: 4, labelled: 4, auroc: 1 });
    // A new instance reads shadowOf back from the journal.
    await monitor.close();
    opened.splice(opened.indexOf(monitor), 1);
    const again = await open();
    expect(await again.evaluate({ model: 'ae', version: '4' })).toMatchObject({ labelled: 4, auroc: 0 });
    expect((await rejection(again.recordPredictions([p('e', 0.5, { shadowOf: '' })]))).message).toMatch(
      /shadowOf/,
    );
  });
});
