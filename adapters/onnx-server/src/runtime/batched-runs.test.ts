import { mixedSequenceSet, NodeTrainer } from '@vigil/adapter-node-trainer';
import { type ModelArtifact, type TrainingSet, toSequences } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OnnxServer, onnxServer } from '../index.js';

/**
 * `batchRows` on the real onnxruntime with the node trainer's three model families: concurrent
 * one-row requests share runs, and every answer is bit for bit the answer the same request gets
 * from a server that runs each request alone.
 */
const L = 4;
const set = (seed: number, patients: number): TrainingSet =>
  mixedSequenceSet(seed, patients, 12, { levelSd: 10, nanRate: 0.1, riseThreshold: 1.4 });
const tcnParams = { sequenceLength: L, blocks: 2, hidden: 8, kernelSize: 2, maxEpochs: 3, batchSize: 64 };
const ensembleParams: Record<string, number | string> = {
  folds: 2,
  calibration: 'platt',
  'gbt.nEstimators': 20,
  'gbt.maxDepth': 3,
  ...Object.fromEntries(Object.entries(tcnParams).map(([k, v]) => [`tcn.${k}`, v])),
};

const oneRow = (x: Float32Array, row: number, width: number) => ({
  inputs: [
    {
      name: 'input',
      shape: [1, width],
      datatype: 'FP32' as const,
      data: Array.from(x.subarray(row * width, (row + 1) * width), (v) => (Number.isNaN(v) ? null : v)),
    },
  ],
});
const answerData = (response: { outputs: { name: string; data: unknown[] }[] }) =>
  response.outputs.map((o) => [o.name, o.data] as const);

describe('batchRows on onnxruntime: shared runs, identical answers', () => {
  const models: { name: string; artifact: ModelArtifact; x: Float32Array; width: number }[] = [];
  let ctx: TestContext;
  let alone: OnnxServer;
  let batched: OnnxServer;

  beforeAll(async () => {
    const trainer = new NodeTrainer();
    const train = set(1, 60);
    const validation = set(2, 20);
    const test = set(3, 20);
    const rows = test.x;
    const sequences = toSequences(test, L);
    const d = test.featureNames.length;
    for (const [algorithm, params, x, width] of [
      ['gbt', { nEstimators: 30, maxDepth: 3 }, rows, d],
      ['tcn', tcnParams, sequences, L * d],
      ['ensemble', ensembleParams, sequences, L * d],
    ] as const) {
      const { artifact } = await trainer.train(train, { algorithm, params, seed: 3 }, { validation });
      models.push({ name: algorithm, artifact, x, width });
    }
    ctx = await createTestContext({ seed: 1 });
    alone = (await onnxServer.create(onnxServer.config.parse({ batchRows: 1 }), ctx)) as OnnxServer;
    batched = (await onnxServer.create(onnxServer.config.parse({ batchRows: 16 }), ctx)) as OnnxServer;
    for (const m of models) {
      await alone.load({ name: m.name, version: '1', artifact: m.artifact });
      await batched.load({ name: m.name, version: '1', artifact: m.artifact });
    }
  }, 180_000);
  afterAll(async () => {
    await alone?.close();
    await batched?.close();
    await ctx?.cleanup();
  });

  for (const algorithm of ['gbt', 'tcn', 'ensemble']) {
    it(`${algorithm}: 60 concurrent one-row requests share runs of ≤ 16 rows and get the answers they get alone`, async () => {
      const m = models.find((x) => x.name === algorithm)!;
      const rows = 60;
      expect(m.x.length).toBeGreaterThanOrEqual(rows * m.width);
      const expected = [];
      for (let r = 0; r < rows; r++)
        expected.push(answerData(await alone.infer(m.name, oneRow(m.x, r, m.width))));
      const got = await Promise.all(
        Array.from({ length: rows }, (_, r) => batched.infer(m.name, oneRow(m.x, r, m.width))),
      );
      expect(got.map(answerData)).toEqual(expected);
      const stats = batched.stats()[m.name]!['1']!;
      expect(stats.batchedRows).toBe(rows);
      expect(stats.batchedRuns).toBe(Math.ceil(rows / 16));
      expect(alone.stats()[m.name]!['1']!.batchedRuns).toBe(0);
    }, 60_000);
  }
});
