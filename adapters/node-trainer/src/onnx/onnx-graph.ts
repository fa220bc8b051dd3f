import { OnnxAttributeType, OnnxDataType } from './onnx-schema.js';

/**
 * Plain objects in the shape of the ONNX protobuf messages (field names as in `onnx.proto`).
 * Builders below fill them so that encoding is deterministic: fixed field sets, no defaults
 * left to chance, little-endian raw tensor data.
 */
export interface OnnxTensorMessage {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  int64_data?: number[];
}

export interface OnnxAttributeMessage {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensorMessage;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface OnnxNodeMessage {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  domain: string;
  attribute: OnnxAttributeMessage[];
}

export interface OnnxValueInfoMessage {
  name: string;
  type: {
    tensor_type: {
      elem_type: number;
      shape: { dim: ({ dim_value: number } | { dim_param: string })[] };
    };
  };
}

export interface OnnxGraphMessage {
  name: string;
  node: OnnxNodeMessage[];
  initializer: OnnxTensorMessage[];
  input: OnnxValueInfoMessage[];
  output: OnnxValueInfoMessage[];
}

const utf8 = new TextEncoder();

/** A FLOAT tensor stored as little-endian `raw_data` (values rounded to float32). */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): OnnxTensorMessage {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dims, data_type: OnnxDataType.FLOAT, raw_data: raw };
}

/** An INT64 tensor stored in `int64_data`. */
export function int64Tensor(name: string, dims: number[], values: number[]): OnnxTensorMessage {
  return { name, dims, data_type: OnnxDataType.INT64, int64_data: values };
}

export const attr = {
  float: (name: string, value: number): OnnxAttributeMessage => ({
    name,
    type: OnnxAttributeType.FLOAT,
    f: value,
  }),
  int: (name: string, value: number): OnnxAttributeMessage => ({
    name,
    type: OnnxAttributeType.INT,
    i: value,
  }),
  string: (name: string, value: string): OnnxAttributeMessage => ({
    name,
    type: OnnxAttributeType.STRING,
    s: utf8.encode(value),
  }),
  floats: (name: string, values: ArrayLike<number>): OnnxAttributeMessage => ({
    name,
    type: OnnxAttributeType.FLOATS,
    floats: Array.from(values, (v) => Math.fround(v)),
  }),
  ints: (name: string, values: ArrayLike<number>): OnnxAttributeMessage => ({
    name,
    type: OnnxAttributeType.INTS,
    ints: Array.from(values),
  }),
  strings: (name: string, values: readonly string[]): OnnxAttributeMessage => ({
    name,
    type: OnnxAttributeType.STRINGS,
    strings: values.map((v) => utf8.encode(v)),
  }),
};

export function node(
  opType: string,
  input: string[],
  output: string[],
  options: { name?: string; domain?: string; attributes?: OnnxAttributeMessage[] } = {},
): OnnxNodeMessage {
  return {
    input,
    output,
    name: options.name ?? output[0] ?? opType,
    op_type: opType,
    domain: options.domain ?? '',
    attribute: options.attributes ?? [],
  };
}

/** A tensor value's declaration; `-1` dimensions become the symbolic dimension `N`. */
export function tensorValueInfo(name: string, elemType: number, shape: number[]): OnnxValueInfoMessage {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: shape.map((d) => (d < 0 ? { dim_param: 'N' } : { dim_value: d })) },
      },
    },
  };
}
