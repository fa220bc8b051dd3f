import { isVigilError, type Registry } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { mlflowRegistry } from './mlflow-adapter.js';
import { requireMlflow } from './testing/index.js';

const server = await requireMlflow();
const ctx = await createTestContext();
const opened: Registry[] = [];

async function open(
  trackingUri = server.trackingUri,
  extra: Record<string, unknown> = {},
): Promise<Registry> {
  const registry = await mlflowRegistry.create(mlflowRegistry.config.parse({ trackingUri, ...extra }), ctx);
  opened.push(registry);
  return registry;
}

afterAll(async () => {
  for (const registry of opened) await registry.close();
  await ctx.cleanup();
});

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isVigilError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('mlflow registry config', () => {
  it('needs an http(s) tracking URI and reports every bad field', () => {
    const result = mlflowRegistry.config.safeParse({
      trackingUri: 'file:///tmp/mlruns',
      timeoutMs: 0,
      extra: 1,
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.') || i.code);
    expect(paths).toEqual(expect.arrayContaining(['trackingUri', 'timeoutMs']));
    expect(result.error!.issues.some((i) => i.code === 'unrecognized_keys')).toBe(true);
    expect(mlflowRegistry.config.parse({ trackingUri: 'http://127.0.0.1:5000' })).toEqual({
      trackingUri: 'http://127.0.0.1:5000',
      timeoutMs: 30_000,
      attempts: 4,
    });
  });

  it('declares honest capabilities: proxied artifacts, no run filters through the port', () => {
    expect(mlflowRegistry.capabilities).toEqual({ artifacts: true, runFilters: false });
  });
});

describe('mlflow registry on the real server', () => {
  it('an unreachable server fails with VIGIL_COMPONENT_FAILED naming the URI', async () => {
    const registry = await open('http://127.0.0.1:1', { timeoutMs: 2000 });
    await expect(registry.getRun('0123456789abcdef0123456789abcdef')).rejects.toMatchObject({
      code: 'VIGIL_COMPONENT_FAILED',
      message: expect.stringContaining('http://127.0.0.1:1'),
    });
  });

  it('throws VIGIL_KERNEL_CLOSED after close(), and close() is idempotent', async () => {
    const registry = await open();
    await registry.close();
    await registry.close();
    expect(await codeOf(registry.createRun({ experiment: unique('closed') }))).toBe('VIGIL_KERNEL_CLOSED');
  });

  it('chunks params and metrics to log-batch limits (250 params, 2500 points)', async () => {
    const registry = await open();
    const run = await registry.createRun({ experiment: unique('batch') });
    const params = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`p${i}`, i]));
    await registry.logParams(run.runId, params);
    const points = Array.from({ length: 2500 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), step }));
    await registry.logMetrics(run.runId, points);
    const back = await registry.getRun(run.runId);
    expect(Object.keys(back.params)).toHaveLength(250);
    expect(back.params.p249).toBe('249');
    const history = await registry.getMetricHistory(run.runId, 'loss');
    expect(history.map((p) => p.step)).toEqual(points.map((p) => p.step));
    expect(back.metrics.loss).toBe(1 / 2500);
  });

  it('sends non-finite metric values and integer timestamps; MLflow clamps ±Infinity to ±MAX_VALUE', async () => {
    const registry = await open();
    const run = await registry.createRun({ experiment: unique('nan') });
    await registry.logMetrics(run.runId, [
      { key: 'a', value: Number.NaN, step: 0, timestamp: 1234.9 },
      { key: 'a', value: Number.POSITIVE_INFINITY, step: 1, timestamp: 2000 },
      { key: 'a', value: Number.NEGATIVE_INFINITY, step: 2, timestamp: 3000 },
    ]);
    const history = await registry.getMetricHistory(run.runId, 'a');
    expect(history.map((p) => [p.value, p.timestamp])).toEqual([
      [Number.NaN, 1234],
      // MLflow's SQL store keeps infinities as ±sys.float_info.max (documented in docs/adapters/mlflow.md).
      [Number.MAX_VALUE, 2000],
      [-Number.MAX_VALUE, 3000],
    ]);
  });

  it('refuses what MLflow would silently cut, naming the key', async () => {
    const registry = await open();
    const run = await registry.createRun({ experiment: unique('long') });
    await expect(registry.logParams(run.runId, { notes: 'x'.repeat(6001) })).rejects.toMatchObject({
      code: 'VIGIL_REGISTRY_INVALID_REQUEST',
      message: expect.stringContaining("'notes'"),
    });
    await expect(registry.logMetrics(run.runId, [{ key: 'k', value: 1, step: 0.5 }])).rejects.toMatchObject({
      code: 'VIGIL_REGISTRY_INVALID_REQUEST',
    });
    await registry.logParams(run.runId, { depth: 3 });
    await expect(registry.logParams(run.runId, { depth: 4 })).rejects.toMatchObject({
      code: 'VIGIL_REGISTRY_INVALID_REQUEST',
      message: expect.stringMatching(/'depth' is '3', not '4'/),
    });
  });

  it('reserved alias names are invalid; unknown models, versions and runs are not found', async () => {
    const registry = await open();
    const run = await registry.createRun({ experiment: unique('alias-names') });
    const model = unique('alias-model');
    await registry.createModelVersion({ name: model, runId: run.runId, source: 'model' });
    for (const alias of ['latest', 'v1']) {
      expect(await codeOf(registry.setAlias(model, alias, '1')), alias).toBe(
        'VIGIL_REGISTRY_INVALID_REQUEST',
      );
    }
    expect(await codeOf(registry.getVersionByAlias(unique('no-model'), 'champion'))).toBe(
      'VIGIL_REGISTRY_NOT_FOUND',
    );
    expect(await codeOf(registry.getModelVersion(model, 'x'))).toBe('VIGIL_REGISTRY_NOT_FOUND');
    // MLflow itself would register a version of a run that does not exist.
    expect(
      await codeOf(
        registry.createModelVersion({
          name: model,
          runId: '0123456789abcdef0123456789abcdef',
          source: 'model',
        }),
      ),
    ).toBe('VIGIL_REGISTRY_NOT_FOUND');
  });

  it('searching an unknown experiment finds nothing and creates nothing', async () => {
    const registry = await open();
    const experiment = unique('nobody');
    expect(await registry.searchRuns({ experiment })).toEqual([]);
    const response = await fetch(
      `${server.trackingUri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${experiment}`,
    );
    expect(response.status).toBe(404);
  });

  it('stores a version source as runs:/<run>/<path>, which MLflow resolves, and hides mlflow.* run tags', async () => {
    const registry = await open();
    const run = await registry.createRun({ experiment: unique('source'), name: 'named', tags: { a: 'b' } });
    const model = unique('source-model');
    const v = await registry.createModelVersion({
      name: model,
      runId: run.runId,
      source: 'model/model.onnx',
    });
    expect(v.source).toBe('model/model.onnx');
    const raw = (await (
      await fetch(`${server.trackingUri}/api/2.0/mlflow/model-versions/get?name=${model}&version=1`)
    ).json()) as { model_version: { source: string } };
    expect(raw.model_version.source).toBe(`runs:/${run.runId}/model/model.onnx`);
    // MLflow records the run name as the tag mlflow.runName; the port's tags are the user's.
    expect((await registry.getRun(run.runId)).tags).toEqual({ a: 'b' });
  });
});
