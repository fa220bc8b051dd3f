import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeOnnxModel } from '../onnx/onnx-codec.js';
import { logisticRegressionOnnx } from './logistic-regression-onnx.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('logisticRegressionOnnx', () => {
  const options = {
    weights: [0.5, -1, 2],
    bias: 0.1,
    featureNames: ['hr_var_24h', 'alt_delta', 'dose'],
    imputeValues: [1, 2, 3],
  };

  it('runs in onnxruntime with the I/O contract, imputing NaN', async () => {
    const artifact = logisticRegressionOnnx(options);
    const session = await ort.InferenceSession.create(artifact.bytes);
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['label', 'probabilities']);
    const x = new Float32Array([1, 2, 3, Number.NaN, 0, 0, -4, 1, Number.NaN]);
    const out = await session.run({ input: new ort.Tensor('float32', x, [3, 3]) });
    const expected = [sigmoid(0.5 - 2 + 6 + 0.1), sigmoid(0.5 + 0.1), sigmoid(-2 - 1 + 6 + 0.1)];
    expect(out.probabilities!.dims).toEqual([3, 2]);
    expect(out.label!.dims).toEqual([3]);
    const probs = out.probabilities!.data as Float32Array;
    const labels = out.label!.data as BigInt64Array;
    for (let i = 0; i < 3; i++) {
      expect(probs[i * 2 + 1]).toBeCloseTo(expected[i]!, 6);
      expect(probs[i * 2]! + probs[i * 2 + 1]!).toBeCloseTo(1, 6);
      expect(labels[i]).toBe(expected[i]! > 0.5 ? 1n : 0n);
    }
    await session.release();
  });

  it('fills the artifact metadata and writes deterministic bytes', () => {
    const a = logisticRegressionOnnx(options);
    const b = logisticRegressionOnnx({ ...options, featureNames: [...options.featureNames] });
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.sha256).toBe(createHash('sha256').update(a.bytes).digest('hex'));
    expect(a.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 3] }]);
    expect(a.outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    ]);
    expect(a.featureNames).toEqual(options.featureNames);
    const decoded = decodeOnnxModel(a.bytes);
    expect(decoded.producerName).toBe('vigil');
    expect(decoded.metadata.get('vigil.model')).toBe('logistic');
    expect(JSON.parse(decoded.metadata.get('vigil.feature_names')!)).toEqual(options.featureNames);
    expect(decoded.initializers.get('coef')!.values).toEqual([0.5, -1, 2]);
  });

  it('rejects mismatched or non-finite parameters', () => {
    expect(() => logisticRegressionOnnx({ ...options, weights: [1, 2] })).toThrow(/weights/);
    expect(() => logisticRegressionOnnx({ ...options, bias: Number.NaN })).toThrow(/bias/);
    expect(() => logisticRegressionOnnx({ ...options, imputeValues: [0] })).toThrow(/imputeValues/);
  });
});
