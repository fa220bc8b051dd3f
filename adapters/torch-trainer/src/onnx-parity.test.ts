import {
  decodeOnnxModel,
  FEATURE_NAMES_KEY,
  NodeTrainer,
  TCN_ARCHITECTURE_KEY,
  toSequences,
} from '@vigil/adapter-node-trainer';
import { type OnnxServer, onnxServer } from '@vigil/adapter-onnx-server';
import type { ModelArtifact } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { temporalSet } from './testing/temporal-set.js';
import { torchUnavailable } from './testing/torch-available.js';
import { TorchTrainer } from './torch-trainer.js';

const missing = torchUnavailable();
const train = temporalSet(1, 60, 20);
const validation = temporalSet(2, 30, 20);
const test = temporalSet(3, 20, 20);
const params = {
  sequenceLength: 5,
  blocks: 2,
  hidden: 8,
  kernelSize: 3,
  maxEpochs: 8,
  batchSize: 64,
  learningRate: 0.005,
};
const L = params.sequenceLength;
const d = train.featureNames.length;
const width = L * d;

/** Held-out sequences plus an all-missing row and a row far outside the training range. */
function scoringRows(): { x: Float32Array; rows: number } {
  const seq = toSequences(test, L);
  const rows = test.y.length + 2;
  const x = new Float32Array(rows * width);
  x.set(seq);
  x.fill(Number.NaN, test.y.length * width, (test.y.length + 1) * width);
  x.fill(1e4, (test.y.length + 1) * width);
  return { x, rows };
}

async function runtime(bytes: Uint8Array, x: Float32Array, rows: number) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, [rows, width]) });
    return {
      probabilities: out.probabilities!,
      label: out.label!,
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
    };
  } finally {
    await session.release();
  }
}

describe.skipIf(missing !== undefined)(
  missing ? `torch trainer ONNX parity (skipped: ${missing})` : 'torch trainer ONNX parity',
  () => {
    const trainer = new TorchTrainer({ device: 'cpu' });
    const trained = new Map<string, Promise<ModelArtifact>>();
    const artifact = (calibration: 'none' | 'platt' | 'isotonic') => {
      let p = trained.get(calibration);
      if (!p) {
        p = trainer
          .train(train, { algorithm: 'tcn', params: { ...params, calibration }, seed: 5 }, { validation })
          .then((r) => r.artifact);
        trained.set(calibration, p);
      }
      return p;
    };
    afterAll(() => trainer.close());

    for (const calibration of ['none', 'platt', 'isotonic'] as const) {
      it(`${calibration}: onnxruntime-node matches predict within 1e-5 (labels, shapes, NaN rows)`, async () => {
        const model = await artifact(calibration);
        const { x, rows } = scoringRows();
        const ours = await trainer.predict(model, x, rows);
        const theirs = await runtime(model.bytes, x, rows);
        expect(theirs.inputNames).toEqual(['input']);
        expect(theirs.outputNames).toEqual(['label', 'probabilities']);
        expect(theirs.probabilities.dims).toEqual([rows, 2]);
        expect(theirs.label.dims).toEqual([rows]);
        expect(theirs.label.type).toBe('int64');
        const p = theirs.probabilities.data as Float32Array;
        const labels = theirs.label.data as BigInt64Array;
        let maxDiff = 0;
        for (let i = 0; i < rows; i++) {
          expect(Number.isFinite(p[2 * i + 1]!)).toBe(true);
          maxDiff = Math.max(maxDiff, Math.abs(p[2 * i + 1]! - ours[i]!));
          expect(p[2 * i]! + p[2 * i + 1]!).toBeCloseTo(1, 6);
          expect(labels[i]).toBe(p[2 * i + 1]! > 0.5 ? 1n : 0n);
        }
        console.log({ calibration, maxDiff });
        expect(maxDiff).toBeLessThanOrEqual(1e-5);
      });
    }

    it('loads in the OIP server and answers a JSON infer request as predict does (1e-5)', async () => {
      const model = await artifact('platt');
      const ctx = await createTestContext({ seed: 1 });
      const server = (await onnxServer.create(onnxServer.config.parse({}), ctx)) as OnnxServer;
      try {
        await server.load({ name: 'ae', version: 'torch-1', artifact: model });
        const { url } = await server.listen({});
        const { x, rows } = scoringRows();
        // JSON has no NaN: OIP's null is a missing value.
        const data = Array.from(x, (v) => (Number.isNaN(v) ? null : v));
        const response = await fetch(`${url}/v2/models/ae/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ name: 'input', shape: [rows, width], datatype: 'FP32', data }] }),
        });
        expect(response.status).toBe(200);
        const body = (await response.json()) as {
          model_name: string;
          outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
        };
        const probabilities = body.outputs.find((o) => o.name === 'probabilities')!;
        const label = body.outputs.find((o) => o.name === 'label')!;
        expect(probabilities.datatype).toBe('FP32');
        expect(probabilities.shape).toEqual([rows, 2]);
        expect(label.datatype).toBe('INT64');
        expect(label.shape).toEqual([rows]);
        const ours = await trainer.predict(model, x, rows);
        let maxDiff = 0;
        for (let i = 0; i < rows; i++)
          maxDiff = Math.max(maxDiff, Math.abs(probabilities.data[2 * i + 1]! - ours[i]!));
        console.log({ server: 'onnx', maxDiff });
        expect(maxDiff).toBeLessThanOrEqual(1e-5);
        const metadata = server.metadata('ae', 'torch-1');
        expect(metadata.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, width] }]);
      } finally {
        await server.close();
        await ctx.cleanup();
      }
    });

    it("has the node trainer's TCN interface: tensors, metadata keys, initializer names and dims", async () => {
      const model = await artifact('isotonic');
      const node = new NodeTrainer();
      const reference = (
        await node.train(
          train,
          { algorithm: 'tcn', params: { ...params, maxEpochs: 1, calibration: 'isotonic' }, seed: 5 },
          { validation },
        )
      ).artifact;
      expect(model.featureNames).toEqual(reference.featureNames);
      expect(model.inputs).toEqual(reference.inputs);
      expect(model.outputs).toEqual(reference.outputs);
      const ours = decodeOnnxModel(model.bytes);
      const theirs = decodeOnnxModel(reference.bytes);
      expect(ours.producerName).toBe(theirs.producerName);
      expect([...ours.metadata.keys()].sort()).toEqual([...theirs.metadata.keys()].sort());
      for (const key of ['vigil.model', 'vigil.calibration', FEATURE_NAMES_KEY, TCN_ARCHITECTURE_KEY]) {
        expect(ours.metadata.get(key), key).toBe(theirs.metadata.get(key));
      }
      // Every weight of the TS graph is in torch's, same name and dims (torch has its own Reshape/Gather
      // constants; isotonic knots may differ in number).
      for (const [name, t] of theirs.initializers) {
        if (!name.startsWith('tcn_') || name === 'tcn_shape' || name === 'tcn_last') continue;
        expect(ours.initializers.get(name)?.dims, name).toEqual(t.dims);
      }
      const runtimeOurs = await runtime(model.bytes, new Float32Array(width), 1);
      const runtimeTheirs = await runtime(reference.bytes, new Float32Array(width), 1);
      expect(runtimeOurs.inputNames).toEqual(runtimeTheirs.inputNames);
      expect(runtimeOurs.outputNames).toEqual(runtimeTheirs.outputNames);
      // torch's body is kept: its causal convolutions are Conv + Slice.
      const ops = new Set(ours.nodes.map((n) => n.opType));
      for (const op of [
        'Reshape',
        'IsNaN',
        'Where',
        'Transpose',
        'Conv',
        'Slice',
        'Relu',
        'Gather',
        'MatMul',
      ])
        expect(ops).toContain(op);
      // The isotonic calibrator (not a Sigmoid) ends the graph, as in the TS one.
      expect(ours.nodes.slice(-12).map((n) => n.opType)).toEqual(
        theirs.nodes.slice(-12).map((n) => n.opType),
      );
      await node.close();
    });
  },
);
