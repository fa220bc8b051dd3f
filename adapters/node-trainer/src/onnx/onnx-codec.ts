import type { OnnxGraphMessage } from './onnx-graph.js';
import { onnxModelType } from './onnx-schema.js';

/** Producer written into every model; fixed so equal models have equal bytes. */
export const ONNX_PRODUCER = { name: 'vigil', version: '0.1.0' } as const;
/** IR version 8 (ONNX 1.10+): enough for opset 17 and ai.onnx.ml 3. */
export const ONNX_IR_VERSION = 8;

export interface OnnxModelInput {
  graph: OnnxGraphMessage;
  /** Operator sets by domain ('' is the default ai.onnx domain). */
  opsets: { domain: string; version: number }[];
  /** Written as `metadata_props`, sorted by key. */
  metadata: Record<string, string>;
  docString?: string;
}

/** Serialise a model to ONNX protobuf bytes; the same input always gives the same bytes. */
export function encodeOnnxModel(model: OnnxModelInput): Uint8Array {
  const type = onnxModelType();
  const message = type.fromObject({
    ir_version: ONNX_IR_VERSION,
    producer_name: ONNX_PRODUCER.name,
    producer_version: ONNX_PRODUCER.version,
    domain: 'org.vigil',
    model_version: 1,
    doc_string: model.docString ?? '',
    graph: model.graph,
    opset_import: model.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    metadata_props: Object.keys(model.metadata)
      .sort()
      .map((key) => ({ key, value: model.metadata[key] })),
  });
  const bytes = type.encode(message).finish();
  // Copy out of protobufjs's pooled buffer so the artifact owns exactly its bytes.
  return new Uint8Array(bytes);
}

/** A decoded tensor: name, shape and its values as numbers. */
export interface DecodedTensor {
  name: string;
  dims: number[];
  values: number[];
}

export interface DecodedAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  floats?: number[];
  ints?: number[];
  strings?: string[];
}

export interface DecodedNode {
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attributes: Map<string, DecodedAttribute>;
}

export interface DecodedModel {
  producerName: string;
  metadata: Map<string, string>;
  nodes: DecodedNode[];
  initializers: Map<string, DecodedTensor>;
}

interface RawTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  int32_data?: number[];
}

interface RawAttribute {
  name?: string;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

interface RawModel {
  producer_name?: string;
  metadata_props?: { key?: string; value?: string }[];
  graph?: {
    node?: {
      op_type?: string;
      domain?: string;
      input?: string[];
      output?: string[];
      attribute?: RawAttribute[];
    }[];
    initializer?: RawTensor[];
  };
}

const utf8 = new TextDecoder();

function tensorValues(t: RawTensor): number[] {
  if (t.raw_data && t.raw_data.length > 0) {
    const view = new DataView(t.raw_data.buffer, t.raw_data.byteOffset, t.raw_data.byteLength);
    const out: number[] = [];
    if (t.data_type === 1) for (let o = 0; o < view.byteLength; o += 4) out.push(view.getFloat32(o, true));
    else if (t.data_type === 11)
      for (let o = 0; o < view.byteLength; o += 8) out.push(view.getFloat64(o, true));
    else if (t.data_type === 7) {
      for (let o = 0; o < view.byteLength; o += 8) out.push(Number(view.getBigInt64(o, true)));
    } else if (t.data_type === 3) for (let o = 0; o < view.byteLength; o++) out.push(view.getInt8(o));
    else if (t.data_type === 2) for (let o = 0; o < view.byteLength; o++) out.push(view.getUint8(o));
    else if (t.data_type === 6) for (let o = 0; o < view.byteLength; o += 4) out.push(view.getInt32(o, true));
    else throw new Error(`unsupported raw tensor data type ${t.data_type} in '${t.name}'`);
    return out;
  }
  return t.float_data ?? t.double_data ?? t.int64_data ?? t.int32_data ?? [];
}

/** Decode ONNX bytes into the parts Vigil's own scorer reads (nodes, attributes, initializers, metadata). */
export function decodeOnnxModel(bytes: Uint8Array): DecodedModel {
  const type = onnxModelType();
  const raw = type.toObject(type.decode(bytes), { longs: Number, arrays: true }) as RawModel;
  const metadata = new Map<string, string>();
  for (const p of raw.metadata_props ?? []) metadata.set(p.key ?? '', p.value ?? '');
  const initializers = new Map<string, DecodedTensor>();
  for (const t of raw.graph?.initializer ?? []) {
    initializers.set(t.name ?? '', { name: t.name ?? '', dims: t.dims ?? [], values: tensorValues(t) });
  }
  const nodes: DecodedNode[] = (raw.graph?.node ?? []).map((n) => {
    const attributes = new Map<string, DecodedAttribute>();
    for (const a of n.attribute ?? []) {
      const decoded: DecodedAttribute = { name: a.name ?? '' };
      if (a.f !== undefined) decoded.f = a.f;
      if (a.i !== undefined) decoded.i = a.i;
      if (a.s !== undefined) decoded.s = utf8.decode(a.s);
      if (a.floats?.length) decoded.floats = a.floats;
      if (a.ints?.length) decoded.ints = a.ints;
      if (a.strings?.length) decoded.strings = a.strings.map((s) => utf8.decode(s));
      attributes.set(decoded.name, decoded);
    }
    return {
      opType: n.op_type ?? '',
      domain: n.domain ?? '',
      input: n.input ?? [],
      output: n.output ?? [],
      attributes,
    };
  });
  return { producerName: raw.producer_name ?? '', metadata, nodes, initializers };
}
