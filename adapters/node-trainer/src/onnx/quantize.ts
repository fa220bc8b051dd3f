import { createHash } from 'node:crypto';
import type { ModelArtifact } from '@vigil/core';
import { VigilError } from '@vigil/core';
import { attr, node, type OnnxNodeMessage, type OnnxTensorMessage } from './onnx-graph.js';
import { OnnxDataType, onnxModelType } from './onnx-schema.js';

/** `metadata_props` key of a quantised model: what was rewritten and how ({@link QuantizationRecord}, JSON). */
export const QUANTIZATION_KEY = 'vigil.quantization';

/**
 * How quantised weights are wired into the graph. Both store every rewritten weight tensor as
 * symmetric int8 per tensor (see {@link quantizeWeights}); they differ in where the arithmetic
 * happens.
 *
 * - `qdq` (default): weight-only. Each int8 weight gets a `DequantizeLinear` in front of the
 *   unchanged float `Conv` / `MatMul`; activations stay float. onnxruntime runs it near float speed (bench/ort-int8: ~12–15 % slower per single row, 0.84–1.34× at batch 256)
 *   (the DequantizeLinear of a constant is cheap next to the convolutions), so the gain is the
 *   ~3× smaller file and weight memory, at the cost of the weights' rounding error only.
 * - `integer`: onnxruntime's `quantize_dynamic` scheme (QOperator). Each rewritten node's input
 *   is quantised per call by `DynamicQuantizeLinear` (uint8, asymmetric, the range of that call's
 *   values); `ConvInteger` / `MatMulInteger` multiply it with the int8 weights in integer
 *   arithmetic; `Cast` and `Mul` by `x_scale · w_scale` bring the int32 sums back to float, and
 *   the Conv bias is added in float. onnxruntime fuses the MatMul chain into
 *   `DynamicQuantizeMatMul` (fast), but its CPU `ConvInteger` has no optimised kernel (it is an
 *   im2col + small integer GEMM per sample), so on the TCN this form is 2–4× *slower* than float (bench/ort-int8)
 *   in onnxruntime 1.30 (bench/ort-int8) — onnxruntime's maintainers recommend static
 *   quantisation for convolutional models (microsoft/onnxruntime#12854). It is kept because it is
 *   what `quantize_dynamic` produces (the independent check compares against it) and because it
 *   also quantises the activations.
 */
export type QuantizationFormat = 'integer' | 'qdq';

/** Operators that have an int8 form; everything else (TreeEnsemble, calibrators, Gemm) stays float. */
export type QuantizableOp = 'Conv' | 'MatMul';

export interface QuantizeOptions {
  /** Default `qdq` (the form onnxruntime runs near float speed; see {@link QuantizationFormat}). */
  format?: QuantizationFormat;
  /** Which operators to rewrite; default both. */
  ops?: readonly QuantizableOp[];
}

/** One node the quantiser rewrote. */
export interface QuantizedNode {
  node: string;
  op: QuantizableOp;
  weight: string;
  /** Number of weights, and the per-tensor scale (`max|w| / 127`) they were stored with. */
  weights: number;
  scale: number;
  /** Largest |w − scale · q| over the tensor (at most scale / 2). */
  maxError: number;
}

/** What the quantised model's `vigil.quantization` metadata records. */
export interface QuantizationRecord {
  format: QuantizationFormat;
  /** Weight encoding: symmetric int8 per tensor, zero point 0, q = round_half_even(w / scale) in [−127, 127]. */
  weights: 'int8-symmetric-per-tensor';
  /** `integer`: activations quantised per call to uint8 by DynamicQuantizeLinear; `qdq`: float. */
  activations: 'uint8-dynamic' | 'float';
  nodes: QuantizedNode[];
  /** Nodes left in float, by operator, with why (trees have no int8 kernel in onnxruntime). */
  keptFloat: Record<string, number>;
  /** sha256 of the float model this one was made from. */
  source: string;
}

export interface QuantizedArtifact {
  artifact: ModelArtifact;
  record: QuantizationRecord;
  /** Sizes of the ONNX bytes before and after. */
  bytesBefore: number;
  bytesAfter: number;
}

interface RawTensor extends Partial<OnnxTensorMessage> {
  float_data?: number[];
}
interface RawModel {
  graph?: { node?: OnnxNodeMessage[]; initializer?: RawTensor[] };
  metadata_props?: { key?: string; value?: string }[];
  [field: string]: unknown;
}

const notQuantizable = (message: string) => new VigilError('VIGIL_TRAINER_NOT_QUANTIZABLE', message);

function floatValues(t: RawTensor): Float32Array | undefined {
  if (t.data_type !== OnnxDataType.FLOAT) return undefined;
  if (t.raw_data && t.raw_data.length > 0) {
    const raw = t.raw_data;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return Float32Array.from(t.float_data ?? []);
}

/** Round half to even, as numpy's `round` (and so onnxruntime's Python quantiser) does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Symmetric int8 per tensor: `scale = max|w| / 127` (float32), `q = round_half_even(w / scale)`
 * clipped to [−127, 127], zero point 0 — the weight encoding of onnxruntime's `quantize_dynamic`
 * with `weight_type=QInt8` (its default `WeightSymmetric`).
 */
export function quantizeWeights(w: Float32Array): { q: Int8Array; scale: number; maxError: number } {
  let absMax = 0;
  for (const v of w) absMax = Math.max(absMax, Math.abs(v));
  const scale = absMax === 0 ? 1 : Math.fround(absMax / 127);
  const q = new Int8Array(w.length);
  let maxError = 0;
  for (let i = 0; i < w.length; i++) {
    const v = Math.min(127, Math.max(-127, roundHalfEven(Math.fround(w[i]! / scale))));
    q[i] = v;
    maxError = Math.max(maxError, Math.abs(w[i]! - scale * v));
  }
  return { q, scale, maxError };
}

const int8Tensor = (name: string, dims: number[], q: Int8Array): OnnxTensorMessage => ({
  name,
  dims,
  data_type: OnnxDataType.INT8,
  raw_data: new Uint8Array(q.buffer.slice(q.byteOffset, q.byteOffset + q.byteLength)),
});
const scalarFloat = (name: string, value: number): OnnxTensorMessage => {
  const raw = new Uint8Array(4);
  new DataView(raw.buffer).setFloat32(0, value, true);
  return { name, dims: [], data_type: OnnxDataType.FLOAT, raw_data: raw };
};
const floatTensorOf = (name: string, dims: number[], values: Float32Array): OnnxTensorMessage => ({
  name,
  dims,
  data_type: OnnxDataType.FLOAT,
  raw_data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
});

/**
 * Rewrite the float weights of an ONNX model's `Conv` and `MatMul` nodes into int8 (no
 * calibration data needed, weights encoded as onnxruntime's `quantize_dynamic` encodes them; see
 * {@link QuantizationFormat} for the two wirings). A node is
 * rewritten when its weight (input 1) is a float initializer; `TreeEnsembleRegressor`/`Classifier`
 * nodes, calibrators and the rest of the graph are kept as they are — onnxruntime has no int8
 * kernel for trees, so an ensemble's GBT half stays float. Inputs, outputs and the artifact's
 * signature are unchanged, so the server loads the result like the float model; Vigil's own
 * TypeScript scorer does not read integer operators (score the result with onnxruntime).
 *
 * Refuses (VIGIL_TRAINER_NOT_QUANTIZABLE) a model with nothing to rewrite (GBT and CART are all
 * trees; logistic regression has one MatMul and is accepted) and a model already quantised.
 */
export function quantizeArtifact(artifact: ModelArtifact, options: QuantizeOptions = {}): QuantizedArtifact {
  const format = options.format ?? 'qdq';
  const ops = new Set<string>(options.ops ?? ['Conv', 'MatMul']);
  if (artifact.format !== 'onnx' || !(artifact.bytes instanceof Uint8Array))
    throw notQuantizable('artifact: only ONNX artifacts with bytes can be quantised');
  const type = onnxModelType();
  let model: RawModel;
  try {
    model = type.toObject(type.decode(artifact.bytes), { longs: Number, arrays: true }) as RawModel;
  } catch (error) {
    throw new VigilError('VIGIL_TRAINER_NOT_QUANTIZABLE', 'artifact.bytes: not a valid ONNX model', {
      cause: error,
    });
  }
  const metadata = model.metadata_props ?? [];
  if (metadata.some((p) => p.key === QUANTIZATION_KEY))
    throw notQuantizable('the model is already quantised (it has vigil.quantization metadata)');
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const initializers = new Map<string, RawTensor>();
  for (const t of graph.initializer ?? []) initializers.set(t.name ?? '', t);

  const out: OnnxNodeMessage[] = [];
  const added: OnnxTensorMessage[] = [];
  const replacedWeights = new Set<string>();
  const quantized: QuantizedNode[] = [];
  const keptFloat: Record<string, number> = {};
  // One DynamicQuantizeLinear per activation tensor, shared by every node that reads it.
  const dynamic = new Map<string, { q: string; scale: string; zero: string }>();
  const weightsDone = new Map<
    string,
    { q: string; scale: string; zero: string; entry: QuantizedNode; dequantized?: string }
  >();
  const used = new Set<string>();
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; used.has(name) || initializers.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  for (const n of nodes) for (const o of n.output) used.add(o);

  for (const n of nodes) {
    const weightName = n.input[1];
    const weight = weightName === undefined ? undefined : initializers.get(weightName);
    const values = weight ? floatValues(weight) : undefined;
    const dims = weight?.dims ?? [];
    const eligible =
      ops.has(n.op_type) &&
      (n.domain ?? '') === '' &&
      values !== undefined &&
      values.length > 0 &&
      (n.op_type === 'Conv' ? dims.length >= 3 : dims.length === 2);
    if (!eligible) {
      if (n.op_type.startsWith('TreeEnsemble') || n.op_type === 'Conv' || n.op_type === 'MatMul')
        keptFloat[n.op_type] = (keptFloat[n.op_type] ?? 0) + 1;
      out.push(n);
      continue;
    }
    const op = n.op_type as QuantizableOp;
    const label = n.name || n.output[0]!;
    let w = weightsDone.get(weightName!);
    if (!w) {
      const { q, scale, maxError } = quantizeWeights(values);
      const names = {
        q: fresh(`${weightName}_quantized`),
        scale: fresh(`${weightName}_scale`),
        zero: fresh(`${weightName}_zero_point`),
      };
      added.push(
        int8Tensor(names.q, dims, q),
        scalarFloat(names.scale, scale),
        int8Tensor(names.zero, [], new Int8Array(1)),
      );
      w = { ...names, entry: { node: label, op, weight: weightName!, weights: q.length, scale, maxError } };
      weightsDone.set(weightName!, w);
      replacedWeights.add(weightName!);
    }
    quantized.push({ ...w.entry, node: label });
    const output = n.output[0]!;
    if (format === 'qdq') {
      if (!w.dequantized) {
        w.dequantized = fresh(`${weightName}_dequantized`);
        out.push(node('DequantizeLinear', [w.q, w.scale, w.zero], [w.dequantized]));
      }
      out.push({ ...n, input: [n.input[0]!, w.dequantized, ...n.input.slice(2)] });
      continue;
    }
    const x = n.input[0]!;
    let dq = dynamic.get(x);
    if (!dq) {
      dq = { q: fresh(`${x}_quantized`), scale: fresh(`${x}_scale`), zero: fresh(`${x}_zero_point`) };
      out.push(node('DynamicQuantizeLinear', [x], [dq.q, dq.scale, dq.zero]));
      dynamic.set(x, dq);
    }
    const integerOut = fresh(`${output}_int32`);
    const floatOut = fresh(`${output}_cast`);
    const scales = fresh(`${output}_scales`);
    const bias = op === 'Conv' ? n.input[2] : undefined;
    const scaled = bias ? fresh(`${output}_nobias`) : output;
    if (op === 'Conv') {
      out.push(
        node('ConvInteger', [dq.q, w.q, dq.zero, w.zero], [integerOut], {
          name: fresh(`${label}_quant`),
          attributes: n.attribute,
        }),
      );
    } else {
      out.push(
        node('MatMulInteger', [dq.q, w.q, dq.zero, w.zero], [integerOut], { name: fresh(`${label}_quant`) }),
      );
    }
    out.push(
      node('Cast', [integerOut], [floatOut], { attributes: [attr.int('to', OnnxDataType.FLOAT)] }),
      node('Mul', [dq.scale, w.scale], [scales]),
      node('Mul', [floatOut, scales], [scaled]),
    );
    if (bias) {
      // ConvInteger has no bias input: add it in float, shaped [Cout, 1, …] to broadcast over [N, Cout, …].
      const b = initializers.get(bias);
      const bValues = b ? floatValues(b) : undefined;
      if (!b || !bValues) {
        out.push(node('Add', [scaled, bias], [output]));
      } else {
        const reshaped = fresh(`${bias}_reshaped`);
        added.push(floatTensorOf(reshaped, [bValues.length, ...dims.slice(2).map(() => 1)], bValues));
        replacedWeights.add(bias);
        out.push(node('Add', [scaled, reshaped], [output]));
      }
    }
  }
  if (quantized.length === 0) {
    const kinds = [...new Set(nodes.map((n) => n.op_type))].join(', ');
    throw notQuantizable(
      `the model has no ${[...ops].join(' or ')} node with float weights to quantise (its operators: ${kinds}); tree ensembles and calibrators have no int8 kernel in onnxruntime and stay float`,
    );
  }
  // Drop float tensors no remaining node reads.
  const stillRead = new Set(out.flatMap((n) => n.input));
  const kept = (graph.initializer ?? []).filter(
    (t) => !replacedWeights.has(t.name ?? '') || stillRead.has(t.name ?? ''),
  );
  const sourceSha = createHash('sha256').update(artifact.bytes).digest('hex');
  const record: QuantizationRecord = {
    format,
    weights: 'int8-symmetric-per-tensor',
    activations: format === 'integer' ? 'uint8-dynamic' : 'float',
    nodes: quantized,
    keptFloat,
    source: sourceSha,
  };
  model.graph = { ...graph, node: out, initializer: [...kept, ...(added as RawTensor[])] };
  model.metadata_props = [...metadata, { key: QUANTIZATION_KEY, value: JSON.stringify(record) }].sort(
    (a, b) => (a.key ?? '').localeCompare(b.key ?? ''),
  );
  const bytes = new Uint8Array(type.encode(type.fromObject(model)).finish());
  return {
    artifact: {
      ...artifact,
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    },
    record,
    bytesBefore: artifact.bytes.length,
    bytesAfter: bytes.length,
  };
}

/** The quantisation record of a model quantised by {@link quantizeArtifact}, or undefined for a float model. */
export function quantizationOf(bytes: Uint8Array): QuantizationRecord | undefined {
  const type = onnxModelType();
  const model = type.toObject(type.decode(bytes), { arrays: true }) as RawModel;
  const value = model.metadata_props?.find((p) => p.key === QUANTIZATION_KEY)?.value;
  return value === undefined ? undefined : (JSON.parse(value) as QuantizationRecord);
}
