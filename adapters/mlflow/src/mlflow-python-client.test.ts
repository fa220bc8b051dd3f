/**
 * Interop: what Vigil writes through the MLflow adapter, MLflow's own Python client
 * (`MlflowClient` from the service venv, run as a subprocess) reads back unchanged — runs, params,
 * metric histories, tags, the ONNX artifact's bytes, registered model versions with their tags,
 * and aliases, including the model file through each alias's version download URI. And the
 * other way: what the Python client writes, Vigil reads.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import { createTestContext } from '@vigil/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { mlflowRegistry } from './mlflow-adapter.js';
import { requireMlflow } from './testing/index.js';

const server = await requireMlflow();
const readBack = fileURLToPath(new URL('./testing/read-back.py', import.meta.url));
const write = fileURLToPath(new URL('./testing/write.py', import.meta.url));

async function python(script: string, spec: unknown): Promise<unknown> {
  const { stdout } = await promisify(execFile)(server.python, [script, JSON.stringify(spec)], {
    env: { ...process.env, MLFLOW_TRACKING_URI: server.trackingUri },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

interface PyVersion {
  name: string;
  version: string;
  run_id: string;
  source: string;
  status: string;
  description: string | null;
  tags: Record<string, string>;
  aliases: string[];
}

interface PyRun {
  experiment: string;
  name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  history: Record<string, [number, number, number][]>;
  tags: Record<string, string>;
  artifacts: Record<string, string>;
  listed: string[];
}

interface PyReadBack {
  runs: Record<string, PyRun>;
  model: {
    name: string;
    description: string | null;
    tags: Record<string, string>;
    aliases: Record<string, string>;
    versions: PyVersion[];
    by_alias: Record<string, { version: PyVersion; files: Record<string, string> }>;
  };
}

const ctx = await createTestContext();
const registry = await mlflowRegistry.create(
  mlflowRegistry.config.parse({ trackingUri: server.trackingUri }),
  ctx,
);
afterAll(async () => {
  await registry.close();
  await ctx.cleanup();
});

describe("MLflow's Python client and Vigil read each other's writes", () => {
  it('the Python client sees the runs, params, metrics, ONNX bytes, versions with tags, and aliases', async () => {
    expect(existsSync(server.python), `${server.python} (bash scripts/services up mlflow)`).toBe(true);
    const id = `${Date.now().toString(36)}-${process.pid}`;
    const experiment = `interop-${id}`;
    const name = `adverse-events-${id}`;

    // Two training runs, each with a real ONNX model (logistic regression built by the node trainer).
    const models = [
      logisticRegressionOnnx({
        weights: [0.5, -1.25, 2],
        bias: -0.3,
        featureNames: ['hr_var_24h', 'alt_delta', 'dose'],
      }),
      logisticRegressionOnnx({
        weights: [0.75, -1, 1.5],
        bias: 0.1,
        featureNames: ['hr_var_24h', 'alt_delta', 'dose'],
      }),
    ];
    const written: {
      runId: string;
      params: Record<string, string | number | boolean>;
      history: [number, number, number][];
      bytes: Uint8Array;
    }[] = [];
    for (const [i, model] of models.entries()) {
      const run = await registry.createRun({
        experiment,
        name: `train-${i}`,
        tags: { 'vigil.runId': ctx.runId, team: 'safety' },
      });
      const params = {
        algorithm: 'logistic',
        learningRate: 0.05 * (i + 1),
        depth: 4,
        balanced: true,
        seed: 7,
      };
      await registry.logParams(run.runId, params);
      const t0 = 1_700_000_000_000;
      const history: [number, number, number][] = [0, 1, 2, 3].map((step) => [
        step,
        0.6 + 0.05 * step + 0.01 * i,
        t0 + 1000 * step,
      ]);
      await registry.logMetrics(
        run.runId,
        history.map(([step, value, timestamp]) => ({ key: 'val_auroc', value, step, timestamp })),
      );
      await registry.logMetrics(run.runId, [{ key: 'test_auroc', value: 0.8 + 0.02 * i, timestamp: t0 }]);
      await registry.logArtifact(run.runId, 'model/model.onnx', model.bytes);
      await registry.logArtifact(
        run.runId,
        'model/features.json',
        new TextEncoder().encode(JSON.stringify(model.featureNames)),
      );
      await registry.endRun(run.runId, i === 0 ? 'FINISHED' : 'FAILED');
      written.push({ runId: run.runId, params, history, bytes: model.bytes });
    }

    await registry.createRegisteredModel(name, {
      description: 'Outcome within the horizon',
      tags: { owner: 'safety' },
    });
    for (const [i, w] of written.entries()) {
      await registry.createModelVersion({
        name,
        runId: w.runId,
        source: 'model/model.onnx',
        tags: { sha256: models[i]!.sha256, framework: 'onnx' },
        description: `model ${i}`,
      });
    }
    await registry.setModelVersionTag(name, '1', 'gate', 'first');
    await registry.setAlias(name, 'champion', '1');
    await registry.setAlias(name, 'challenger', '2');

    const spec = {
      runIds: written.map((w) => w.runId),
      model: name,
      aliases: ['champion', 'challenger'],
      artifacts: ['model/model.onnx', 'model/features.json'],
    };
    const seen = (await python(readBack, spec)) as PyReadBack;

    for (const [i, w] of written.entries()) {
      const run = seen.runs[w.runId]!;
      const ours = await registry.getRun(w.runId);
      expect(run.experiment).toBe(experiment);
      expect(run.name).toBe(`train-${i}`);
      expect(run.status).toBe(i === 0 ? 'FINISHED' : 'FAILED');
      expect(run.start_time).toBe(ours.startTime);
      expect(run.end_time).toBe(ours.endTime);
      expect(run.params).toEqual(
        Object.fromEntries(Object.entries(w.params).map(([k, v]) => [k, String(v)])),
      );
      expect(run.tags).toEqual({ 'vigil.runId': ctx.runId, team: 'safety' });
      expect(run.metrics).toEqual({ val_auroc: w.history.at(-1)![1], test_auroc: 0.8 + 0.02 * i });
      expect(run.history.val_auroc).toEqual(w.history);
      expect(run.history.test_auroc).toEqual([[0, 0.8 + 0.02 * i, 1_700_000_000_000]]);
      // The ONNX model's bytes, exactly; and the listing MLflow's UI shows.
      const onnx = Buffer.from(run.artifacts['model/model.onnx']!, 'base64');
      expect(onnx.equals(Buffer.from(w.bytes))).toBe(true);
      expect(createHash('sha256').update(onnx).digest('hex')).toBe(models[i]!.sha256);
      expect(Buffer.from(run.artifacts['model/features.json']!, 'base64').toString()).toBe(
        JSON.stringify(models[i]!.featureNames),
      );
      expect(run.listed).toEqual(['model/features.json', 'model/model.onnx']);
    }

    const model = seen.model;
    expect(model.name).toBe(name);
    expect(model.description).toBe('Outcome within the horizon');
    expect(model.tags).toEqual({ owner: 'safety' });
    expect(model.aliases).toEqual({ champion: '1', challenger: '2' });
    expect(model.versions).toEqual(
      written.map((w, i) => ({
        name,
        version: String(i + 1),
        run_id: w.runId,
        source: `runs:/${w.runId}/model/model.onnx`,
        status: 'READY',
        description: `model ${i}`,
        tags: { sha256: models[i]!.sha256, framework: 'onnx', ...(i === 0 ? { gate: 'first' } : {}) },
        aliases: [i === 0 ? 'champion' : 'challenger'],
      })),
    );
    // Vigil's view of the same versions agrees with MLflow's.
    for (const v of model.versions) {
      const ours = await registry.getModelVersion(name, v.version);
      expect({ runId: ours.runId, tags: ours.tags, aliases: ours.aliases }).toEqual({
        runId: v.run_id,
        tags: v.tags,
        aliases: v.aliases,
      });
      expect(ours.source).toBe('model/model.onnx');
    }
    for (const [alias, version] of [
      ['champion', 0],
      ['challenger', 1],
    ] as const) {
      const got = model.by_alias[alias]!;
      expect(got.version.version).toBe(String(version + 1));
      expect(Object.keys(got.files)).toEqual(['model.onnx']);
      expect(
        Buffer.from(got.files['model.onnx']!, 'base64').equals(Buffer.from(written[version]!.bytes)),
      ).toBe(true);
    }
  }, 180_000);

  it('Vigil reads the run, metric history, artifact, version and alias the Python client wrote', async () => {
    const id = `${Date.now().toString(36)}-${process.pid}`;
    const experiment = `from-python-${id}`;
    const name = `from-python-${id}`;
    const wrote = (await python(write, { experiment, model: name })) as {
      runId: string;
      version: string;
      payload: number[];
      size: number;
    };
    const run = await registry.getRun(wrote.runId);
    expect(run).toMatchObject({
      runId: wrote.runId,
      experiment,
      name: 'from-python',
      status: 'FINISHED',
      params: { alpha: '0.5', solver: 'lbfgs' },
      metrics: { loss: 0.65 },
      tags: { origin: 'python', stage: 'train' },
    });
    expect(typeof run.endTime).toBe('number');
    expect((await registry.getMetricHistory(wrote.runId, 'loss')).map((p) => [p.step, p.value])).toEqual([
      [0, 0.9],
      [1, 0.7],
      [2, 0.65],
    ]);
    const bytes = await registry.getArtifact(wrote.runId, 'model/weights.bin');
    expect(bytes.length).toBe(wrote.size);
    expect(Array.from(bytes.subarray(0, 8))).toEqual(wrote.payload);
    expect((await registry.searchRuns({ experiment })).map((r) => r.runId)).toEqual([wrote.runId]);
    const champion = await registry.getVersionByAlias(name, 'champion');
    expect(champion).toMatchObject({
      name,
      version: wrote.version,
      runId: wrote.runId,
      source: 'model',
      tags: { k: 'v' },
      aliases: ['champion'],
    });
    expect(await registry.getRegisteredModel(name)).toMatchObject({
      description: 'from MlflowClient',
      tags: { owner: 'python' },
      aliases: { champion: wrote.version },
      latestVersion: wrote.version,
    });
  }, 180_000);
});
