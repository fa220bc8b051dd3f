import {
  NodeTrainer,
  quantizationOf,
  quantizeArtifact,
  risingSequenceSet,
} from '@vigil/adapter-node-trainer';
import { type ModelArtifact, toSequences } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OnnxServer, onnxServer } from '../index.js';

/** The node trainer's TCN task: 12 time-ordered rows of 3 features per patient. */
const sequenceSet = (seed: number, patients: number) => risingSequenceSet(seed, patients, 12);

const L = 6;
const test = sequenceSet(3, 30);
const rows = test.y.length;
const x = toSequences(test, L);
const request = (data: Float32Array, n: number) => ({
  inputs: [
    {
      name: 'input',
      shape: [n, L * 3],
      datatype: 'FP32' as const,
      data: Array.from(data.subarray(0, n * L * 3), (v) => (Number.isNaN(v) ? null : v)),
    },
  ],
});
const positive = (response: { outputs: { name: string; data: unknown[] }[] }) =>
  (response.outputs.find((o) => o.name === 'probabilities')!.data as number[]).filter((_, i) => i % 2 === 1);

describe('the server serves int8-quantised node-trainer models', () => {
  let tcn: ModelArtifact;
  let ctx: TestContext;
  let server: OnnxServer;
  beforeAll(async () => {
    const trainer = new NodeTrainer();
    const params = { sequenceLength: L, blocks: 2, hidden: 8, kernelSize: 3, maxEpochs: 4, batchSize: 64 };
    tcn = (
      await trainer.train(
        sequenceSet(1, 60),
        { algorithm: 'tcn', params, seed: 3 },
        { validation: sequenceSet(2, 20) },
      )
    ).artifact;
    ctx = await createTestContext({ seed: 1 });
    server = (await onnxServer.create(onnxServer.config.parse({}), ctx)) as OnnxServer;
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await ctx?.cleanup();
  });

  for (const format of ['qdq', 'integer'] as const) {
    it(`${format}: loads beside the float version, answers the same request within 0.05 of it`, async () => {
      const { artifact } = quantizeArtifact(tcn, { format });
      expect(quantizationOf(artifact.bytes)?.format).toBe(format);
      await server.load({ name: 'tcn', version: 'float', artifact: tcn });
      await server.load({ name: 'tcn', version: format, artifact });
      const floatAnswer = await server.infer('tcn', request(x, rows), { version: 'float' });
      const int8Answer = await server.infer('tcn', request(x, rows), { version: format });
      expect(int8Answer.model_version).toBe(format);
      const a = positive(floatAnswer);
      const b = positive(int8Answer);
      expect(b).toHaveLength(rows);
      const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(0.05);
    }, 60_000);
  }

  it('a quantised model whose int8 bytes were tampered with is refused by its sha256', async () => {
    const { artifact } = quantizeArtifact(tcn);
    const bytes = artifact.bytes.slice();
    bytes[bytes.length - 5]! ^= 1;
    await expect(
      server.load({ name: 'tcn', version: 'bad', artifact: { ...artifact, bytes } }),
    ).rejects.toThrow(/sha256/);
  });
});
