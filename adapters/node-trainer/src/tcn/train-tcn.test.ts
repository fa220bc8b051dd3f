import { auroc } from '@vigil/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { NodeTrainer } from '../node-trainer.js';
import { decodeOnnxModel } from '../onnx/onnx-codec.js';
import { resolveSpec, type TcnParams } from '../spec/train-params.js';
import { RunControl } from '../training/run-control.js';
import { risingSequenceSet } from './sequence-task.js';
import { toSequences } from './sequences.js';
import { trainTcn } from './train-tcn.js';

const train = risingSequenceSet(1, 200, 20);
const validation = risingSequenceSet(2, 60, 20);
const test = risingSequenceSet(3, 60, 20);
const params = {
  sequenceLength: 5,
  blocks: 2,
  hidden: 16,
  kernelSize: 3,
  dropout: 0.1,
  maxEpochs: 40,
  batchSize: 64,
  learningRate: 0.005,
};

async function runtime(bytes: Uint8Array, x: Float32Array, rows: number, width: number) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, [rows, width]) });
    return { probabilities: out.probabilities!, label: out.label! };
  } finally {
    await session.release();
  }
}

describe('tcn', () => {
  const trainer = new NodeTrainer();
  const trained = trainer.train(train, { algorithm: 'tcn', params, seed: 7 }, { validation });

  it('learns a rise across time steps (AUROC > 0.9) that a last-step model cannot', async () => {
    const { artifact, metrics } = await trained;
    const seq = toSequences(test, params.sequenceLength);
    const scores = await trainer.predict(artifact, seq, test.y.length);
    const tcnAuroc = auroc(scores, test.y)!;
    expect(tcnAuroc).toBeGreaterThan(0.9);
    expect(metrics.val_auroc).toBeGreaterThan(0.9);
    expect(metrics.best_epoch).toBeGreaterThan(0);
    // Models that read only the current row.
    const gbt = await trainer.train(train, { algorithm: 'gbt', params: {}, seed: 7 }, { validation });
    const gbtAuroc = auroc(await trainer.predict(gbt.artifact, test.x, test.y.length), test.y)!;
    const lastStep = await trainer.train(
      train,
      { algorithm: 'tcn', params: { ...params, sequenceLength: 1 }, seed: 7 },
      { validation },
    );
    const lastAuroc = auroc(await trainer.predict(lastStep.artifact, test.x, test.y.length), test.y)!;
    expect(gbtAuroc).toBeLessThan(0.7);
    expect(lastAuroc).toBeLessThan(0.7);
    console.log({ tcnAuroc, gbtAuroc, lastAuroc, epochs: metrics.epochs, best: metrics.best_epoch });
  }, 120_000);

  it('onnxruntime-node matches predict within 1e-5, with the same outputs as the GBT models', async () => {
    const { artifact } = await trained;
    const L = params.sequenceLength;
    const d = test.featureNames.length;
    expect(artifact.featureNames).toEqual(test.featureNames);
    expect(artifact.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, L * d] }]);
    const gbt = await trainer.train(train, { algorithm: 'gbt', params: { nEstimators: 5 }, seed: 7 });
    expect(artifact.outputs).toEqual(gbt.artifact.outputs);
    const seq = toSequences(test, L);
    // Held-out rows plus edge cases: an all-missing row and values far outside the training range.
    const rows = test.y.length + 2;
    const x = new Float32Array(rows * L * d);
    x.set(seq);
    x.fill(Number.NaN, test.y.length * L * d, (test.y.length + 1) * L * d);
    x.fill(1e4, (test.y.length + 1) * L * d);
    const ours = await trainer.predict(artifact, x, rows);
    const theirs = await runtime(artifact.bytes, x, rows, L * d);
    expect(theirs.probabilities.dims).toEqual([rows, 2]);
    expect(theirs.label.dims).toEqual([rows]);
    expect(theirs.label.type).toBe('int64');
    const p = theirs.probabilities.data as Float32Array;
    const labels = theirs.label.data as BigInt64Array;
    let maxDiff = 0;
    for (let i = 0; i < rows; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(p[2 * i + 1]! - ours[i]!));
      expect(p[2 * i]! + p[2 * i + 1]!).toBeCloseTo(1, 6);
      expect(labels[i]).toBe(p[2 * i + 1]! > 0.5 ? 1n : 0n);
    }
    console.log({ maxDiff });
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    const ops = new Set(decodeOnnxModel(artifact.bytes).nodes.map((n) => n.opType));
    for (const op of ['IsNaN', 'Where', 'Conv', 'Relu', 'Add', 'Gather', 'MatMul', 'Sigmoid', 'Concat'])
      expect(ops).toContain(op);
  }, 120_000);

  it('same data, params and seed give byte-identical ONNX; another seed does not', async () => {
    const small = { ...params, maxEpochs: 3 };
    const a = await trainer.train(train, { algorithm: 'tcn', params: small, seed: 11 }, { validation });
    const b = await trainer.train(train, { algorithm: 'tcn', params: small, seed: 11 }, { validation });
    const c = await trainer.train(train, { algorithm: 'tcn', params: small, seed: 12 }, { validation });
    expect(Buffer.from(a.artifact.bytes).equals(Buffer.from(b.artifact.bytes))).toBe(true);
    expect(a.artifact.sha256).toBe(b.artifact.sha256);
    expect(c.artifact.sha256).not.toBe(a.artifact.sha256);
  }, 120_000);

  it('gives the same bytes on 1 and 3 threads (3 really ran), and an abort stops a threaded run', async () => {
    const spec = { algorithm: 'tcn', params: { ...params, maxEpochs: 2, batchSize: 128 }, seed: 3 };
    const p = (resolveSpec(spec) as { params: TcnParams }).params;
    const run = (threads: number, control = new RunControl({ signals: [], yieldIntervalMs: 0 })) =>
      trainTcn(train, p, 3, validation, control, { threads });
    const one = await run(1);
    const three = await run(3);
    expect([one.threads, three.threads]).toEqual([1, 3]);
    expect(Buffer.from(three.build().bytes).equals(Buffer.from(one.build().bytes))).toBe(true);

    const abort = new AbortController();
    const control = new RunControl({
      signals: [abort.signal],
      yieldIntervalMs: 0,
      onProgress: () => abort.abort(),
    });
    const long = (
      resolveSpec({ ...spec, params: { ...spec.params, maxEpochs: 500 } }) as { params: TcnParams }
    ).params;
    await expect(trainTcn(train, long, 3, validation, control, { threads: 3 })).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_CANCELLED',
    });
  }, 120_000);

  it('calibrates inside the graph and still matches onnxruntime', async () => {
    const small = { ...params, maxEpochs: 3, calibration: 'platt' };
    const { artifact } = await trainer.train(
      train,
      { algorithm: 'tcn', params: small, seed: 11 },
      { validation },
    );
    const L = params.sequenceLength;
    const seq = toSequences(test, L);
    const ours = await trainer.predict(artifact, seq, test.y.length);
    const p = (await runtime(artifact.bytes, seq, test.y.length, L * 3)).probabilities.data as Float32Array;
    for (let i = 0; i < test.y.length; i++)
      expect(Math.abs(p[2 * i + 1]! - ours[i]!)).toBeLessThanOrEqual(1e-5);
  }, 120_000);

  it('rejects bad params naming them, and predict rejects rows of the wrong width', async () => {
    await expect(trainer.train(train, { algorithm: 'tcn', params: { hidden: 0 }, seed: 1 })).rejects.toThrow(
      /spec\.params\.hidden/,
    );
    await expect(trainer.train(train, { algorithm: 'tcn', params: { dropout: 1 }, seed: 1 })).rejects.toThrow(
      /spec\.params\.dropout/,
    );
    await expect(
      trainer.train(train, { algorithm: 'tcn', params: { sequenceLength: 2.5 }, seed: 1 }),
    ).rejects.toThrow(/spec\.params\.sequenceLength/);
    const { artifact } = await trained;
    await expect(trainer.predict(artifact, test.x, test.y.length)).rejects.toThrow(/rows × features/);
  }, 120_000);
});
