import type { InferenceRequest, InferenceResponse, TensorSpec } from '@vigil/core';

/** Model metadata as the Open Inference Protocol returns it. */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: 'onnxruntime';
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** What the HTTP layer calls: the same methods the in-process API uses. */
export interface HttpTarget {
  infer(
    name: string,
    request: InferenceRequest,
    options?: { version?: string; routeKey?: string },
  ): Promise<InferenceResponse>;
  /** Throws VIGIL_SERVER_UNKNOWN_MODEL for an unknown model or version. */
  metadata(name: string, version?: string): ModelMetadata;
  /** Throws VIGIL_SERVER_UNKNOWN_MODEL for an unknown model or version. */
  ready(name: string, version?: string): boolean;
}
