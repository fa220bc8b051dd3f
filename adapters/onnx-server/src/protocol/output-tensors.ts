import type { OipTensor } from '@vigil/core';
import type { OrtTensor } from '../runtime/ort.js';
import { oipDatatypeOf } from './datatypes.js';

/** JSON-ready flat data of a tensor: 64-bit integers become numbers, booleans stay booleans. */
function flatData(tensor: OrtTensor): unknown[] {
  const data = tensor.data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const out = new Array<number>(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
    return out;
  }
  if (tensor.type === 'bool' && data instanceof Uint8Array) {
    const out = new Array<boolean>(data.length);
    for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0;
    return out;
  }
  if (ArrayBuffer.isView(data)) return Array.from(data as unknown as ArrayLike<number>);
  if (Array.isArray(data)) return data;
  return [];
}

/** Convert onnxruntime results into OIP output tensors, in the order of `names`. */
export function toOipOutputs(results: Record<string, OrtTensor>, names: readonly string[]): OipTensor[] {
  const outputs = new Array<OipTensor>(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const tensor = results[name];
    if (!tensor) throw new Error(`onnxruntime returned no output '${name}'`);
    outputs[i] = {
      name,
      shape: Array.from(tensor.dims),
      datatype: oipDatatypeOf(tensor.type) ?? 'BYTES',
      data: flatData(tensor),
    };
  }
  return outputs;
}
