/**
 * The subset of `onnxruntime-node` this adapter calls, declared structurally so the
 * adapter's types do not drag the SDK in (it is imported lazily in `create`).
 */

/** onnxruntime's tensor element types. */
export type OrtTensorType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string'
  | (string & {});

export interface OrtTensor {
  readonly type: OrtTensorType;
  readonly dims: readonly number[];
  readonly data: unknown;
}

export type OrtValueMetadata =
  | { readonly name: string; readonly isTensor: false }
  | {
      readonly name: string;
      readonly isTensor: true;
      readonly type: OrtTensorType;
      readonly shape: ReadonlyArray<number | string>;
    };

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly OrtValueMetadata[];
  readonly outputMetadata: readonly OrtValueMetadata[];
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Where onnxruntime writes the graph as optimised (a diagnostic; the server never sets it). */
  optimizedModelFilePath?: string;
}

export interface OrtModule {
  readonly InferenceSession: {
    create(buffer: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}
