import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import type { InferenceRequest, ModelArtifact } from '@vigil/core';
import { isVigilError } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type OnnxServer, onnxServer } from './index.js';

const names4 = ['a', 'b', 'c', 'd'];
const v1 = logisticRegressionOnnx({ weights: [0.8, -0.4, 1.2, 0.3], bias: -0.2, featureNames: names4 });
const v2 = logisticRegressionOnnx({ weights: [-0.5, 0.9, 0.1, -1.1], bias: 0.4, featureNames: names4 });
const narrow = logisticRegressionOnnx({ weights: [1, 1], bias: 0, featureNames: ['a', 'b'] });

const rows = (n: number) => Array.from({ length: n }, (_, r) => [r / 10, 1 - r / 7, (r % 3) - 1, r % 2]);
const request = (n = 2): InferenceRequest => ({
  inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', data: rows(n) }],
});
const p1 = (response: { outputs: { name: string; data: unknown[] }[] }) =>
  (response.outputs.find((o) => o.name === 'probabilities')!.data as number[]).filter((_, i) => i % 2 === 1);

const open: { server: OnnxServer; ctx: TestContext }[] = [];
async function start(config: Record<string, unknown> = {}, seed = 9): Promise<OnnxServer> {
  const ctx = await createTestContext({ seed });
  const server = (await onnxServer.create(onnxServer.config.parse(config), ctx)) as OnnxServer;
  open.push({ server, ctx });
  return server;
}
afterEach(async () => {
  for (const { server, ctx } of open.splice(0)) {
    await server.close();
    await ctx.cleanup();
  }
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isVigilError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  return 'resolved';
}

describe('OnnxServer', () => {
  it('descriptor: port, name, defaults and strict config', () => {
    expect(onnxServer.port).toBe('server');
    expect(onnxServer.name).toBe('onnx');
    expect(onnxServer.config.parse({})).toEqual({
      host: '127.0.0.1',
      port: 0,
      bodyLimitBytes: 4 * 1024 * 1024,
      intraOpThreads: 1,
      interOpThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      deadlineMs: 50,
      latencyWindow: 1024,
      batchRows: 64,
      publicMetrics: false,
      emitBatchRows: 512,
      emitFlushMs: 200,
    });
    expect(onnxServer.capabilities).toMatchObject({
      entities: true,
      fallback: true,
      canary: true,
      shadow: true,
    });
    const key = (name: string, k: string, role = 'predict') => ({ name, key: k, role });
    const issues = (config: unknown) =>
      onnxServer.config.safeParse(config).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(
      issues({ auth: { keys: [key('a', 'k'.repeat(16)), key('b', 'j'.repeat(16), 'operate')] } }),
    ).toEqual([]);
    expect(issues({ auth: { keys: [key('a', 'k'.repeat(16)), key('a', 'j'.repeat(16))] } })).toEqual([
      "auth.keys.1.name: key name 'a' is listed twice",
    ]);
    expect(issues({ auth: { keys: [key('a', 'k'.repeat(16)), key('b', 'k'.repeat(16))] } })).toEqual([
      'auth.keys.1.key: the same key value is listed twice',
    ]);
    expect(
      issues({ auth: { keys: [key('a', 'short'), key('b', 'j'.repeat(16), 'root')] } }).map(
        (i) => i.split(':')[0],
      ),
    ).toEqual(['auth.keys.0.key', 'auth.keys.1.role']);
    expect(
      issues({ pseudonymKey: 'short', rateLimit: { perSecond: 0, burst: 1 } }).map((i) => i.split(':')[0]),
    ).toEqual(['pseudonymKey', 'rateLimit.perSecond']);
    for (const [field, shape] of Object.entries(onnxServer.config.shape)) {
      expect(shape.description, field).toBeTruthy();
    }
    expect(() => onnxServer.config.parse({ colour: 'red' })).toThrow();
    expect(() => onnxServer.config.parse({ port: 70_000 })).toThrow();
  });

  it('scores a batch in one call exactly as row by row, and matches the logistic formula', async () => {
    const server = await start();
    await server.load({ name: 'ae', version: 'v1', artifact: v1 });
    const batch = p1(await server.infer('ae', request(6)));
    const single = [];
    for (const row of rows(6)) {
      single.push(
        ...p1(
          await server.infer('ae', {
            inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row }],
          }),
        ),
      );
    }
    expect(batch).toEqual(single);
    const w = [0.8, -0.4, 1.2, 0.3];
    rows(6).forEach((row, r) => {
      const z = row.reduce((s, x, i) => s + x * w[i]!, -0.2);
      expect(batch[r]).toBeCloseTo(1 / (1 + Math.exp(-z)), 5);
    });
  });

  it('rejects artifacts that do not match their declared tensors or are not ONNX', async () => {
    const server = await start();
    const renamed: ModelArtifact = {
      ...v1,
      outputs: [v1.outputs[0]!, { ...v1.outputs[1]!, name: 'proba' }],
    };
    expect(await code(server.load({ name: 'ae', version: 'x', artifact: renamed }))).toMatch(
      /VIGIL_SERVER_INVALID_MODEL: .*artifact\.outputs\[1\]: the model has no output 'proba'/,
    );
    const wrongType: ModelArtifact = { ...v1, outputs: [{ ...v1.outputs[0]!, datatype: 'FP32' }] };
    expect(await code(server.load({ name: 'ae', version: 'x', artifact: wrongType }))).toMatch(
      /'label' is int64 in the model, the artifact says FP32/,
    );
    const wrongWidth: ModelArtifact = {
      ...v1,
      featureNames: ['a', 'b'],
      inputs: [{ ...v1.inputs[0]!, shape: [-1, 2] }],
    };
    expect(await code(server.load({ name: 'ae', version: 'x', artifact: wrongWidth }))).toMatch(
      /dimension 1 is 4 in the model, the artifact says 2/,
    );
    const tampered: ModelArtifact = { ...v1, bytes: v2.bytes };
    expect(await code(server.load({ name: 'ae', version: 'x', artifact: tampered }))).toMatch(
      /artifact\.sha256/,
    );
    const garbage = new TextEncoder().encode('not a model at all');
    const notOnnx: ModelArtifact = { ...v1, bytes: garbage, sha256: '' };
    expect(await code(server.load({ name: 'ae', version: 'x', artifact: notOnnx }))).toMatch(
      /VIGIL_SERVER_INVALID_MODEL: .*onnxruntime cannot load the model/,
    );
    expect(await code(server.load({ name: '', version: 'x', artifact: v1 }))).toMatch(/model\.name/);
    expect(await code(server.infer('ae', request()))).toMatch(/VIGIL_SERVER_UNKNOWN_MODEL/);
  });

  it('without a route the version loaded last answers; reloading a version replaces it', async () => {
    const server = await start();
    await server.load({ name: 'ae', version: 'v1', artifact: v1 });
    await server.load({ name: 'ae', version: 'v2', artifact: v2 });
    expect((await server.infer('ae', request())).model_version).toBe('v2');
    const before = p1(await server.infer('ae', request(), { version: 'v1' }));
    const inFlight = server.infer('ae', request(50), { version: 'v1' });
    await server.load({ name: 'ae', version: 'v1', artifact: v2 });
    expect((await inFlight).outputs).toHaveLength(2);
    expect(p1(await server.infer('ae', request(), { version: 'v1' }))).not.toEqual(before);
    await server.unload('ae', 'v2');
    expect((await server.infer('ae', request())).model_version).toBe('v1');
    await server.unload('ae', 'v1');
    expect(await code(server.infer('ae', request()))).toMatch(
      /VIGIL_SERVER_UNKNOWN_MODEL: model 'ae' is not loaded/,
    );
  });

  it('mirrors a share of routed traffic, counts it, and mirror failures never reach the caller', async () => {
    const server = await start();
    await server.load({ name: 'ae', version: 'v1', artifact: v1 });
    await server.load({ name: 'ae', version: 'v2', artifact: v2 });
    await server.load({ name: 'ae', version: 'narrow', artifact: narrow });
    await server.route('ae', {
      candidates: [{ version: 'v1', weight: 1 }],
      mirror: { version: 'v2', percent: 25 },
    });
    for (let i = 0; i < 400; i++) await server.infer('ae', request(1));
    await server.infer('ae', request(1), { version: 'v1' }); // explicit versions are not mirrored
    let stats = server.stats().ae!;
    expect(stats.v1!.served).toBe(401);
    expect(stats.v2!.served).toBe(0);
    expect(stats.v2!.mirrored / 400).toBeCloseTo(0.25, 1);
    expect(stats.v2!.mirrorFailures).toBe(0);
    // A mirror whose input width differs fails on every copy; callers see only v1.
    await server.route('ae', {
      candidates: [{ version: 'v1', weight: 1 }],
      mirror: { version: 'narrow', percent: 100 },
    });
    const expected = p1(await server.infer('ae', request(3), { version: 'v1' }));
    for (let i = 0; i < 20; i++) {
      const response = await server.infer('ae', request(3));
      expect(response.model_version).toBe('v1');
      expect(p1(response)).toEqual(expected);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    stats = server.stats().ae!;
    expect(stats.narrow).toMatchObject({ served: 0, mirrored: 20, mirrorFailures: 20, errors: 0 });
  });

  it('the router seed comes from config, else the run seed', async () => {
    const sequence = async (server: OnnxServer) => {
      await server.load({ name: 'ae', version: 'v1', artifact: v1 });
      await server.load({ name: 'ae', version: 'v2', artifact: v2 });
      await server.route('ae', {
        candidates: [
          { version: 'v1', weight: 1 },
          { version: 'v2', weight: 1 },
        ],
      });
      const out: string[] = [];
      for (let i = 0; i < 40; i++) out.push((await server.infer('ae', request(1))).model_version!);
      return out.join();
    };
    const a = await sequence(await start({}, 1));
    const b = await sequence(await start({}, 1));
    const c = await sequence(await start({}, 2));
    const d = await sequence(await start({ seed: 1 }, 2));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(d).toBe(a);
  });

  it('close is idempotent, waits for mirrors, and any use afterwards is VIGIL_KERNEL_CLOSED', async () => {
    const server = await start();
    await server.load({ name: 'ae', version: 'v1', artifact: v1 });
    await server.load({ name: 'ae', version: 'v2', artifact: v2 });
    await server.route('ae', {
      candidates: [{ version: 'v1', weight: 1 }],
      mirror: { version: 'v2', percent: 100 },
    });
    const { url } = await server.listen({});
    await server.infer('ae', request(20));
    await Promise.all([server.close(), server.close()]);
    expect(await code(server.infer('ae', request()))).toMatch(/VIGIL_KERNEL_CLOSED/);
    expect(await code(server.load({ name: 'ae', version: 'v3', artifact: v1 }))).toMatch(
      /VIGIL_KERNEL_CLOSED/,
    );
    expect(await code(server.listen({}))).toMatch(/VIGIL_KERNEL_CLOSED/);
    expect(await code(fetch(`${url}/v2/health/live`))).not.toBe('resolved');
  });
});
