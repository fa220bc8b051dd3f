import { createHash } from 'node:crypto';
import type { ModelArtifact, TensorSpec } from '@vigil/core';

/**
 * The I/O contract every Vigil binary classifier follows:
 *
 * - input `input`: FP32 `[-1, d]`, row-major, columns in `featureNames` order; NaN marks a
 *   missing value (the model imputes or routes it itself);
 * - output `label`: INT64 `[-1]`, 1 when P(adverse event) > 0.5, else 0;
 * - output `probabilities`: FP32 `[-1, 2]`, column 0 = P(no event), column 1 = P(adverse event).
 */
export const MODEL_INPUT_NAME = 'input';
export const MODEL_LABEL_NAME = 'label';
export const MODEL_PROBABILITIES_NAME = 'probabilities';

export function modelInputs(featureCount: number): TensorSpec[] {
  return [{ name: MODEL_INPUT_NAME, datatype: 'FP32', shape: [-1, featureCount] }];
}

export function modelOutputs(): TensorSpec[] {
  return [
    { name: MODEL_LABEL_NAME, datatype: 'INT64', shape: [-1] },
    { name: MODEL_PROBABILITIES_NAME, datatype: 'FP32', shape: [-1, 2] },
  ];
}

/**
 * Wrap ONNX bytes that follow the I/O contract above (input `input` FP32 `[-1, d]` with NaN =
 * missing; outputs `label` INT64 `[-1]` and `probabilities` FP32 `[-1, 2]`, column 1 =
 * P(adverse event)) into a {@link ModelArtifact}, with `inputs`, `outputs`, `featureNames`
 * and the hex sha256 of the bytes filled in.
 */
export function createModelArtifact(bytes: Uint8Array, featureNames: readonly string[]): ModelArtifact {
  return {
    format: 'onnx',
    bytes,
    inputs: modelInputs(featureNames.length),
    outputs: modelOutputs(),
    featureNames: [...featureNames],
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}
