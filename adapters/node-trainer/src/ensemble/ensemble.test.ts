import { auroc, type TrainingSet, toSequences } from '@vigil/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { NodeTrainer } from '../node-trainer.js';
import { decodeOnnxModel } from '../onnx/onnx-codec.js';
import { mixedSequenceSet } from '../tcn/sequence-task.js';
import { groupFolds } from './group-folds.js';

/** A rise only a sequence model sees, and a spike trees find at once (see mixedSequenceSet). */
function mixedSet(seed: number, patients: number, steps: number): TrainingSet {
  return mixedSequenceSet(seed, patients, steps, { levelSd: 10, nanRate: 0.1, riseThreshold: 1.4 });
}

const train = mixedSet(1, 120, 20);
const validation = mixedSet(2, 40, 20);
const test = mixedSet(3, 60, 20);
const tcn = {
  sequenceLength: 4,
  blocks: 2,
  hidden: 12,
  kernelSize: 2,
  maxEpochs: 25,
  batchSize: 64,
  learningRate: 0.01,
};
const params: Record<string, number | string> = {
  folds: 3,
  calibration: 'platt',
  'gbt.nEstimators': 80,
  'gbt.maxDepth': 3,
};
for (const [k, v] of Object.entries(tcn)) params[`tcn.${k}`] = v;

describe('stacked ensemble (gbt + tcn)', () => {
  const trainer = new NodeTrainer();
  const trained = trainer.train(train, { algorithm: 'ensemble', params, seed: 5 }, { validation });
  const seq = toSequences(test, tcn.sequenceLength);

  it('is at least as good as its best member on held-out patients, better than its worst', async () => {
    const { artifact, metrics } = await trained;
    const ensemble = auroc(await trainer.predict(artifact, seq, test.y.length), test.y)!;
    const gbt = await trainer.train(
      train,
      { algorithm: 'gbt', params: { nEstimators: 80, maxDepth: 3 }, seed: 5 },
      { validation },
    );
    const gbtAuroc = auroc(await trainer.predict(gbt.artifact, test.x, test.y.length), test.y)!;
    const alone = await trainer.train(train, { algorithm: 'tcn', params: tcn, seed: 5 }, { validation });
    const tcnAuroc = auroc(await trainer.predict(alone.artifact, seq, test.y.length), test.y)!;
    console.log({ ensemble, gbtAuroc, tcnAuroc, metrics });
    expect(ensemble).toBeGreaterThanOrEqual(Math.max(gbtAuroc, tcnAuroc) - 0.005);
    expect(ensemble).toBeGreaterThan(Math.min(gbtAuroc, tcnAuroc) + 0.01);
    // Both members carry weight in the stack.
    expect(metrics.stack_weight_gbt).toBeGreaterThan(0.1);
    expect(metrics.stack_weight_tcn).toBeGreaterThan(0.1);
  }, 300_000);

  it('is one ONNX graph (trees, convolutions, stacker, calibrator) that onnxruntime scores as predict does', async () => {
    const { artifact } = await trained;
    const model = decodeOnnxModel(artifact.bytes);
    expect(model.metadata.get('vigil.model')).toBe('ensemble');
    expect(model.metadata.get('vigil.calibration')).toBe('platt');
    const ops = new Set(model.nodes.map((n) => n.opType));
    for (const op of ['TreeEnsembleRegressor', 'Conv', 'Slice', 'Sigmoid']) expect(ops).toContain(op);
    expect(artifact.inputs[0]!.shape).toEqual([-1, tcn.sequenceLength * 3]);
    const ours = await trainer.predict(artifact, seq, test.y.length);
    const session = await ort.InferenceSession.create(artifact.bytes);
    try {
      const out = await session.run({
        input: new ort.Tensor('float32', seq, [test.y.length, tcn.sequenceLength * 3]),
      });
      const p = out.probabilities!.data as Float32Array;
      let worst = 0;
      for (let r = 0; r < test.y.length; r++) worst = Math.max(worst, Math.abs(p[2 * r + 1]! - ours[r]!));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  }, 300_000);

  it('gives the same bytes for the same data, params and seed', async () => {
    const { artifact } = await trained;
    const again = await trainer.train(train, { algorithm: 'ensemble', params, seed: 5 }, { validation });
    expect(again.artifact.sha256).toBe(artifact.sha256);
  }, 300_000);

  it('names the field of a bad member parameter', async () => {
    const bad = (p: Record<string, number | string>) =>
      trainer.train(train, { algorithm: 'ensemble', params: p, seed: 1 }, { validation });
    await expect(bad({ 'tcn.hidden': 2.5 })).rejects.toThrow(/spec\.params\.tcn\.hidden must be an integer/);
    await expect(bad({ 'gbt.calibration': 'platt' })).rejects.toThrow(/spec\.params\.gbt\.calibration/);
    await expect(bad({ 'rf.trees': 3 })).rejects.toThrow(/spec\.params\.rf\.trees is not a parameter/);
  });
});

describe('groupFolds', () => {
  it('puts every patient in exactly one fold and spreads positive patients over the folds', () => {
    const set = mixedSet(9, 50, 10);
    const fold = groupFolds(set.groups, set.y, 5, 3);
    const foldOf = new Map<string, number>();
    set.groups.forEach((g, r) => {
      expect(foldOf.get(g) ?? fold[r]).toBe(fold[r]);
      foldOf.set(g, fold[r]!);
    });
    const sizes = [0, 0, 0, 0, 0];
    for (const f of foldOf.values()) sizes[f]!++;
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(Array.from(groupFolds(set.groups, set.y, 5, 3))).toEqual(Array.from(fold));
  });
});
