import { VigilError } from '@vigil/core';
import type { DecodedModel } from '../onnx/onnx-codec.js';
import type { Standardizer } from './standardizer.js';
import { standardize } from './standardizer.js';
import { type ConvSlot, type TcnLayout, TcnWorkspace, tcnLayout } from './tcn-model.js';
import { convNames, TCN_ARCHITECTURE_KEY, type TcnArchitecture } from './tcn-onnx.js';

const CHUNK = 256;

function invalid(reason: string): VigilError {
  return new VigilError(
    'VIGIL_TRAINER_INVALID_DATASET',
    `artifact is not a Vigil node-trainer model: ${reason}`,
  );
}

/** A chunk's workspace and standardised-input buffer, allocated once and reused by every call. */
export interface TcnScratch {
  workspace: TcnWorkspace;
  buffer: Float32Array;
}

export function tcnScratch(layout: TcnLayout): TcnScratch {
  const { steps: L, features: d } = layout.shape;
  return { workspace: new TcnWorkspace(layout, CHUNK), buffer: new Float32Array(CHUNK * L * d) };
}

/**
 * The TCN's logits for `[rows, L·d]` raw sequences (NaN = missing), computed in float32 chunks of
 * up to 256 rows in `scratch` (one per compiled model, so a one-row request builds nothing).
 */
export function tcnLogits(
  layout: TcnLayout,
  params: Float32Array,
  standardizer: Standardizer,
  x: Float32Array,
  rows: number,
  scratch: TcnScratch = tcnScratch(layout),
): Float32Array {
  const { steps: L, features: d } = layout.shape;
  const width = L * d;
  const out = new Float32Array(rows);
  const { workspace, buffer } = scratch;
  for (let from = 0; from < rows; from += CHUNK) {
    const n = Math.min(CHUNK, rows - from);
    const z = standardize(
      x.subarray(from * width, (from + n) * width),
      d,
      standardizer,
      buffer.subarray(0, n * width),
    );
    const logits = workspace.forward(z, n, params);
    for (let s = 0; s < n; s++) out[from + s] = logits[s]!;
  }
  return out;
}

/** Rebuild a TCN from its own ONNX graph (see tcnOnnx); `rawScore` returns logits. */
export function compileTcn(
  model: DecodedModel,
  d: number,
): {
  kind: 'tcn';
  featureCount: number;
  scoreKind: 'logit';
  rawScore(x: Float32Array, rows: number): Float32Array;
} {
  const json = model.metadata.get(TCN_ARCHITECTURE_KEY);
  if (json === undefined) throw invalid(`no ${TCN_ARCHITECTURE_KEY} metadata`);
  const arch = JSON.parse(json) as TcnArchitecture;
  if (arch.features !== d)
    throw invalid(`${TCN_ARCHITECTURE_KEY}.features ${arch.features} ≠ ${d} feature names`);
  const layout = tcnLayout({
    features: d,
    steps: arch.sequenceLength,
    blocks: arch.blocks,
    kernelSize: arch.kernelSize,
    hidden: arch.hidden,
  });
  const get = (name: string, size: number): number[] => {
    const values = model.initializers.get(name)?.values;
    if (!values || values.length !== size) throw invalid(`initializer ${name} is missing or mis-sized`);
    return values;
  };
  const params = new Float32Array(layout.size);
  const load = (c: ConvSlot, names: { w: string; b: string }) => {
    const w = get(names.w, c.cout * c.cin * c.k);
    for (let o = 0; o < c.cout; o++)
      for (let j = 0; j < c.k; j++)
        for (let i = 0; i < c.cin; i++)
          params[c.w + (o * c.k + j) * c.cin + i] = w[(o * c.cin + i) * c.k + j]!;
    params.set(get(names.b, c.cout), c.b);
  };
  layout.blocks.forEach((block, b) => {
    load(block.conv1, convNames(b, 'conv1'));
    load(block.conv2, convNames(b, 'conv2'));
    if (block.residual) load(block.residual, convNames(b, 'res'));
  });
  params.set(get('tcn_head_w', arch.hidden), layout.headW);
  params.set(get('tcn_head_b', 1), layout.headB);
  const standardizer = {
    mean: Float32Array.from(get('tcn_mean', d)),
    scale: Float32Array.from(get('tcn_scale', d)),
  };
  let scratch: TcnScratch | undefined;
  return {
    kind: 'tcn',
    featureCount: arch.sequenceLength * d,
    scoreKind: 'logit',
    rawScore: (x, rows) => {
      scratch ??= tcnScratch(layout);
      return tcnLogits(layout, params, standardizer, x, rows, scratch);
    },
  };
}
