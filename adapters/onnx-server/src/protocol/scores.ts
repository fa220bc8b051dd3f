import type { OipTensor, TensorSpec } from '@vigil/core';
import type { OrtTensor } from '../runtime/ort.js';

/**
 * The output that holds P(positive): `probabilities` when the artifact declares it (Vigil's
 * binary models: FP32 `[-1, 2]`, column 1), else the first FP32 output.
 */
export function scoreOutputOf(outputs: readonly TensorSpec[]): string | undefined {
  return (outputs.find((o) => o.name === 'probabilities') ?? outputs.find((o) => o.datatype === 'FP32'))
    ?.name;
}

/** P(positive) per row: column 1 of a `[rows, 2+]` tensor, else column 0. */
export function positiveScores(tensor: OrtTensor | undefined, rows: number): Float32Array {
  const out = new Float32Array(rows).fill(Number.NaN);
  if (!tensor || !(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array)) return out;
  const cols = tensor.dims.length >= 2 ? Number(tensor.dims[1]) : 1;
  const col = cols >= 2 ? 1 : 0;
  for (let r = 0; r < rows; r++) out[r] = tensor.data[r * cols + col] ?? Number.NaN;
  return out;
}

/**
 * Output tensors of a fallback answer in the served model's declared layout: a probability
 * output `[rows, 2]` gets `[1 − p, p]` (`[rows]`/`[rows, 1]`: `p`), an integer or boolean
 * output (the label) gets `p ≥ 0.5`.
 */
export function fallbackOutputs(
  p: Float32Array,
  rows: number,
  fetches: readonly string[],
  specs: readonly TensorSpec[],
): OipTensor[] {
  return fetches.map((name) => {
    const spec = specs.find((s) => s.name === name);
    const datatype = spec?.datatype ?? 'FP32';
    if (datatype === 'FP32' || datatype === 'FP64') {
      const cols = spec && spec.shape.length >= 2 ? spec.shape[1]! : 1;
      if (cols === 2) {
        const data = new Array<number>(rows * 2);
        for (let r = 0; r < rows; r++) {
          data[2 * r] = Math.fround(1 - p[r]!);
          data[2 * r + 1] = p[r]!;
        }
        return { name, shape: [rows, 2], datatype, data };
      }
      return {
        name,
        shape: spec && spec.shape.length >= 2 ? [rows, 1] : [rows],
        datatype,
        data: Array.from(p),
      };
    }
    const labels = Array.from(p, (v) => (v >= 0.5 ? 1 : 0));
    if (datatype === 'BOOL') return { name, shape: [rows], datatype, data: labels.map((v) => v === 1) };
    return { name, shape: [rows], datatype: datatype === 'BYTES' ? 'INT64' : datatype, data: labels };
  });
}
