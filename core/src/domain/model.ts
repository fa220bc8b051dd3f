export interface TensorSpec {
  name: string;
  datatype: 'FP32' | 'FP64' | 'INT64' | 'INT32' | 'BOOL' | 'BYTES';
  /** -1 for a dynamic dimension. */
  shape: number[];
}

/** A trained model, serialised. Vigil's interchange format is ONNX. */
export interface ModelArtifact {
  format: 'onnx';
  bytes: Uint8Array;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Ordered feature names the first input expects. */
  featureNames: string[];
  /** sha256 of `bytes`, hex. */
  sha256: string;
}

export type Metrics = Record<string, number>;
