/**
 * The TCN's parameters and its forward and backward passes on plain typed arrays.
 *
 * Activations are time-major `[n, T, C]` (sample, step, channel), as the model's input is.
 * A causal dilated convolution with kernel size K and dilation δ computes
 * `out[t, o] = b[o] + Σ_j Σ_i W[o, j, i] · in[t − (K − 1 − j)·δ, i]` with `in[t < 0] = 0`,
 * which is PyTorch's `Conv1d(padding=(K−1)·δ)` with the last (K−1)·δ outputs sliced off and
 * ONNX's `Conv(pads=[(K−1)·δ, 0])`. Weights are stored `[Cout, K, Cin]` here (contiguous
 * over input channels for the kernels) and transposed to ONNX/PyTorch's `[Cout, Cin, K]` on export.
 */

import { type MaskFn, wasmKernels } from './tcn-wasm.js';

export type FloatArray = Float32Array | Float64Array;

export interface TcnShape {
  /** d: features per time step. */
  features: number;
  /** L: time steps per sequence. */
  steps: number;
  blocks: number;
  kernelSize: number;
  hidden: number;
}

export interface ConvSlot {
  /** Offsets into the flat parameter vector. */
  w: number;
  b: number;
  cin: number;
  cout: number;
  k: number;
  dilation: number;
}

export interface BlockLayout {
  conv1: ConvSlot;
  conv2: ConvSlot;
  /** 1×1 convolution on the residual path when the block's input and output channels differ. */
  residual: ConvSlot | null;
}

export interface TcnLayout {
  shape: TcnShape;
  blocks: BlockLayout[];
  headW: number;
  headB: number;
  /** Number of trainable parameters. */
  size: number;
}

export function tcnLayout(shape: TcnShape): TcnLayout {
  let offset = 0;
  const slot = (cin: number, cout: number, k: number, dilation: number): ConvSlot => {
    const w = offset;
    offset += cout * k * cin;
    const b = offset;
    offset += cout;
    return { w, b, cin, cout, k, dilation };
  };
  const blocks: BlockLayout[] = [];
  let cin = shape.features;
  const H = shape.hidden;
  for (let i = 0; i < shape.blocks; i++) {
    const dilation = 2 ** i;
    const conv1 = slot(cin, H, shape.kernelSize, dilation);
    const conv2 = slot(H, H, shape.kernelSize, dilation);
    const residual = cin !== H ? slot(cin, H, 1, 1) : null;
    blocks.push({ conv1, conv2, residual });
    cin = H;
  }
  const headW = offset;
  offset += H;
  const headB = offset;
  offset += 1;
  return { shape, blocks, headW, headB, size: offset };
}

/**
 * He (Kaiming) uniform initialisation for the ReLU convolutions, U(±√(6 / fan_in)) with
 * fan_in = Cin·K; the head is U(±√(3 / H)) (unit-variance logits for unit-variance inputs);
 * every bias starts at 0. `uniform()` draws from [0, 1).
 */
export function initParams(layout: TcnLayout, params: FloatArray, uniform: () => number): void {
  params.fill(0);
  const fill = (from: number, count: number, bound: number) => {
    for (let i = 0; i < count; i++) params[from + i] = (2 * uniform() - 1) * bound;
  };
  for (const block of layout.blocks) {
    for (const c of [block.conv1, block.conv2, block.residual]) {
      if (c) fill(c.w, c.cout * c.k * c.cin, Math.sqrt(6 / (c.cin * c.k)));
    }
  }
  fill(layout.headW, layout.shape.hidden, Math.sqrt(3 / layout.shape.hidden));
}

/**
 * The time steps each block computes. Only the last step feeds the head, so with causal
 * convolutions a block needs its output only at the steps the final output depends on (the
 * receptive-field cone): with L = 14, K = 3 and dilations 1, 2, 4 the top block's output is
 * needed at step 13 only, its conv1 at {5, 9, 13}, and so on down. Steps are sorted ascending.
 */
export interface BlockCone {
  /** Steps of the block's input that are kept (block 0: every step of the input). */
  input: Int32Array;
  /** Steps at which conv1 (= conv2's input) is computed. */
  inner: Int32Array;
  /** Steps at which conv2, the residual and the block output are computed. */
  output: Int32Array;
}

/** Steps `t − (K − 1 − j)·δ ≥ 0` for every t in `steps` and every tap j, sorted. */
function reach(steps: Int32Array, k: number, dilation: number): Int32Array {
  const set = new Set<number>();
  for (const t of steps) for (let j = 0; j < k; j++) if (t - j * dilation >= 0) set.add(t - j * dilation);
  return Int32Array.from([...set].sort((a, b) => a - b));
}

export function tcnCone(layout: TcnLayout): BlockCone[] {
  const { steps: L, kernelSize: K } = layout.shape;
  const cones: BlockCone[] = [];
  let output: Int32Array = Int32Array.of(L - 1);
  for (let b = layout.blocks.length - 1; b >= 0; b--) {
    const dilation = layout.blocks[b]!.conv1.dilation;
    const inner = reach(output, K, dilation);
    // reach(inner) ⊇ inner ⊇ output, so the residual's steps are included.
    const input = b === 0 ? Int32Array.from({ length: L }, (_, t) => t) : reach(inner, K, dilation);
    cones[b] = { input, inner, output };
    output = input;
  }
  return cones;
}

/*
 * Kernels. Every activation buffer is a Float64Array holding, after a leading all-zero row,
 * `steps` rows of `width` values per sequence: row (s, p) lives at offset
 * (1 + s·steps + p)·width. A convolution's taps are tabulated per output step for sequence 0
 * (`tap[p·k + j]`: offset of the input row, −1 before the start of the sequence, i.e. causal zero
 * padding); sequence s adds s·inStride. The kernels walk one step at a time over pairs of
 * sequences, so both rows of a pair share the same taps and padding taps are skipped.
 */

/** The four-channel blocks of {@link gatherGemm} (channels below `width & ~3`). */
export type GatherBlocks = (
  out: Float64Array,
  n: number,
  steps: number,
  width: number,
  tap: Int32Array,
  taps: number,
  depth: number,
  inp: Float64Array,
  inStride: number,
  w: Float64Array,
  bias: Float64Array,
  accumulate: boolean,
) => void;

/**
 * `out[(s, p), o] (+)= bias[o] + Σ_j Σ_i inp[tap[p·taps + j] + s·inStride + i] · w[(j·depth + i)·width + o]`
 * for n sequences of `steps` output rows: `blocks` computes two sequences × four channels at a
 * time (eight accumulators in registers), then the last `width mod 4` channels one by one. Every
 * output accumulates from its bias over j, then i, in that order, whatever computes it. With
 * `accumulate`, adds to `out` and ignores `bias`.
 */
export function gatherGemm(
  out: Float64Array,
  n: number,
  steps: number,
  width: number,
  tap: Int32Array,
  taps: number,
  depth: number,
  inp: Float64Array,
  inStride: number,
  w: Float64Array,
  bias: Float64Array,
  accumulate: boolean,
  blocks: GatherBlocks = gatherBlocks,
): void {
  blocks(out, n, steps, width, tap, taps, depth, inp, inStride, w, bias, accumulate);
  if (width % 4 === 0) return;
  const wStride = depth * width;
  for (let p = 0; p < steps; p++) {
    const tp = p * taps;
    for (let s = 0; s < n; s++) {
      const da = (1 + s * steps + p) * width;
      const base = s * inStride;
      for (let o = width - (width % 4); o < width; o++) {
        let a = accumulate ? 0 : bias[o]!;
        for (let j = 0; j < taps; j++) {
          const t = tap[tp + j]!;
          if (t < 0) continue;
          const sa = t + base;
          let wp = j * wStride + o;
          for (let i = 0; i < depth; i++) {
            a += inp[sa + i]! * w[wp]!;
            wp += width;
          }
        }
        out[da + o] = accumulate ? a + out[da + o]! : a;
      }
    }
  }
}

/** TypeScript {@link GatherBlocks}: two sequences × four channels, eight accumulators. */
export const gatherBlocks: GatherBlocks = (
  out,
  n,
  steps,
  width,
  tap,
  taps,
  depth,
  inp,
  inStride,
  w,
  bias,
  accumulate,
) => {
  const width4 = width - (width % 4);
  const wStride = depth * width;
  const outStride = steps * width;
  for (let p = 0; p < steps; p++) {
    const tp = p * taps;
    for (let s = 0; s < n; s += 2) {
      const two = s + 1 < n;
      const da = (1 + s * steps + p) * width;
      const db = da + outStride;
      const base = s * inStride;
      for (let o = 0; o < width4; o += 4) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        if (!accumulate) {
          a0 = bias[o]!;
          a1 = bias[o + 1]!;
          a2 = bias[o + 2]!;
          a3 = bias[o + 3]!;
        }
        let b0 = a0;
        let b1 = a1;
        let b2 = a2;
        let b3 = a3;
        for (let j = 0; j < taps; j++) {
          const t = tap[tp + j]!;
          if (t < 0) continue;
          const sa = t + base;
          // The second sequence of an odd tail reads the zero row.
          const sb = two ? sa + inStride : 0;
          let wp = j * wStride + o;
          for (let i = 0; i < depth; i++) {
            const xa = inp[sa + i]!;
            const xb = inp[sb + i]!;
            const w0 = w[wp]!;
            const w1 = w[wp + 1]!;
            const w2 = w[wp + 2]!;
            const w3 = w[wp + 3]!;
            wp += width;
            a0 += xa * w0;
            a1 += xa * w1;
            a2 += xa * w2;
            a3 += xa * w3;
            b0 += xb * w0;
            b1 += xb * w1;
            b2 += xb * w2;
            b3 += xb * w3;
          }
        }
        if (accumulate) {
          a0 += out[da + o]!;
          a1 += out[da + o + 1]!;
          a2 += out[da + o + 2]!;
          a3 += out[da + o + 3]!;
        }
        out[da + o] = a0;
        out[da + o + 1] = a1;
        out[da + o + 2] = a2;
        out[da + o + 3] = a3;
        if (two) {
          if (accumulate) {
            b0 += out[db + o]!;
            b1 += out[db + o + 1]!;
            b2 += out[db + o + 2]!;
            b3 += out[db + o + 3]!;
          }
          out[db + o] = b0;
          out[db + o + 1] = b1;
          out[db + o + 2] = b2;
          out[db + o + 3] = b3;
        }
      }
    }
  }
};

/** Sequences per chunk of {@link reduceGemm}, so a chunk's operands stay in the L1/L2 cache. */
const REDUCE_SEQUENCES = 16;

/**
 * The bias sums of outputs below `width & ~3` and the four-output × two-input blocks of
 * {@link reduceGemm}'s weight gradient (outputs below `width & ~3`, inputs below `depth & ~1`)
 * over sequences `from .. to`.
 */
export type ReduceBlocks = (
  grad: Float64Array,
  wAt: number,
  steps: number,
  tap: Int32Array,
  taps: number,
  depth: number,
  inp: Float64Array,
  inStride: number,
  dOut: Float64Array,
  width: number,
  from: number,
  to: number,
  bAt: number,
) => void;

/**
 * Weight and bias gradients of a convolution laid out as in {@link gatherGemm}: adds
 * `Σ_(s,p) dOut[(s, p), o] · inp[tap[p·taps + j] + s·inStride + i]` to
 * `grad[wAt + (o·taps + j)·depth + i]` (our `[Cout, K, Cin]` layout) and `Σ dOut[(s, p), o]` to
 * `grad[bAt + o]`, over chunks of {@link REDUCE_SEQUENCES} sequences in order; within a chunk
 * every weight sums over steps p, then sequences s (a fixed order: deterministic), four outputs ×
 * two inputs at a time (`blocks`), the ragged edge one by one.
 */
export function reduceGemm(
  grad: Float64Array,
  wAt: number,
  bAt: number,
  n: number,
  steps: number,
  tap: Int32Array,
  taps: number,
  depth: number,
  inp: Float64Array,
  inStride: number,
  dOut: Float64Array,
  width: number,
  blocks: ReduceBlocks = reduceBlocks,
): void {
  const width4 = width - (width % 4);
  const depth2 = depth - (depth % 2);
  for (let from = 0; from < n; from += REDUCE_SEQUENCES) {
    const to = Math.min(n, from + REDUCE_SEQUENCES);
    for (let o = width4; o < width; o++) biasSum(grad, bAt, steps, dOut, width, from, to, o);
    blocks(grad, wAt, steps, tap, taps, depth, inp, inStride, dOut, width, from, to, bAt);
    if (width4 === width && depth2 === depth) continue;
    // The ragged edge: the last input of the blocked outputs, then the last outputs.
    for (let o = 0; o < width; o++) {
      for (let j = 0; j < taps; j++) {
        for (let i = o < width4 ? depth2 : 0; i < depth; i++) {
          let a = 0;
          for (let p = 0; p < steps; p++) {
            const t = tap[p * taps + j]!;
            if (t < 0) continue;
            for (let s = from; s < to; s++)
              a += dOut[(1 + s * steps + p) * width + o]! * inp[t + s * inStride + i]!;
          }
          const g = wAt + (o * taps + j) * depth + i;
          grad[g] = grad[g]! + a;
        }
      }
    }
  }
}

/** `grad[bAt + o] += Σ_s Σ_p dOut[(s, p), o]` over sequences `from .. to` (s outer, p inner). */
function biasSum(
  grad: Float64Array,
  bAt: number,
  steps: number,
  dOut: Float64Array,
  width: number,
  from: number,
  to: number,
  o: number,
): void {
  let sum = 0;
  for (let s = from; s < to; s++) {
    const row = (1 + s * steps) * width + o;
    for (let p = 0; p < steps; p++) sum += dOut[row + p * width]!;
  }
  grad[bAt + o] = grad[bAt + o]! + sum;
}

/** TypeScript {@link ReduceBlocks}: four outputs × two inputs, eight accumulators. */
export const reduceBlocks: ReduceBlocks = (
  grad,
  wAt,
  steps,
  tap,
  taps,
  depth,
  inp,
  inStride,
  dOut,
  width,
  from,
  to,
  bAt,
) => {
  const width4 = width - (width % 4);
  for (let o = 0; o < width4; o++) biasSum(grad, bAt, steps, dOut, width, from, to, o);
  const depth2 = depth - (depth % 2);
  const outStride = steps * width;
  const gStride = taps * depth;
  for (let o = 0; o < width4; o += 4) {
    for (let j = 0; j < taps; j++) {
      const g0 = wAt + (o * taps + j) * depth;
      for (let i = 0; i < depth2; i += 2) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let b0 = 0;
        let b1 = 0;
        let b2 = 0;
        let b3 = 0;
        for (let p = 0; p < steps; p++) {
          const t = tap[p * taps + j]!;
          if (t < 0) continue;
          let x = t + from * inStride + i;
          let d = (1 + from * steps + p) * width + o;
          for (let s = from; s < to; s++) {
            const xa = inp[x]!;
            const xb = inp[x + 1]!;
            const d0 = dOut[d]!;
            const d1 = dOut[d + 1]!;
            const d2 = dOut[d + 2]!;
            const d3 = dOut[d + 3]!;
            x += inStride;
            d += outStride;
            a0 += d0 * xa;
            a1 += d1 * xa;
            a2 += d2 * xa;
            a3 += d3 * xa;
            b0 += d0 * xb;
            b1 += d1 * xb;
            b2 += d2 * xb;
            b3 += d3 * xb;
          }
        }
        grad[g0 + i] = grad[g0 + i]! + a0;
        grad[g0 + gStride + i] = grad[g0 + gStride + i]! + a1;
        grad[g0 + 2 * gStride + i] = grad[g0 + 2 * gStride + i]! + a2;
        grad[g0 + 3 * gStride + i] = grad[g0 + 3 * gStride + i]! + a3;
        grad[g0 + i + 1] = grad[g0 + i + 1]! + b0;
        grad[g0 + gStride + i + 1] = grad[g0 + gStride + i + 1]! + b1;
        grad[g0 + 2 * gStride + i + 1] = grad[g0 + 2 * gStride + i + 1]! + b2;
        grad[g0 + 3 * gStride + i + 1] = grad[g0 + 3 * gStride + i + 1]! + b3;
      }
    }
  }
};

/**
 * Where a workspace's buffers live: consecutive 16-byte-aligned views of one buffer (the
 * WebAssembly kernels' memory), or separate arrays when `buffer` is null (which also measures
 * how many bytes the views need).
 */
class Arena {
  bytes = 0;
  constructor(readonly buffer: ArrayBuffer | null) {}

  #take(bytes: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil(bytes / 16) * 16;
    return at;
  }

  f64(length: number): Float64Array {
    const at = this.#take(length * 8);
    return this.buffer ? new Float64Array(this.buffer, at, length) : new Float64Array(length);
  }

  i32(length: number): Int32Array {
    const at = this.#take(length * 4);
    return this.buffer ? new Int32Array(this.buffer, at, length) : new Int32Array(length);
  }
}

/** One convolution restricted to its cone. */
interface ConvPlan {
  slot: ConvSlot;
  /** Output rows (steps) per sequence. */
  outSteps: number;
  /** Input rows per sequence. */
  inSteps: number;
  /** `[outSteps, k]`: offset of each tap's input row for sequence 0 (−1 before the start). */
  tap: Int32Array;
  /** `[inSteps, k]`: offset of the output row (sequence 0) that read this input row through tap j, or −1. */
  back: Int32Array;
  /** Weights packed for the forward pass, `[k, cin, cout]`. */
  wf: Float64Array;
  /** Weights packed for ∂L/∂input, `[k, cout, cin]`. */
  wt: Float64Array;
  bias: Float64Array;
}

function convPlan(slot: ConvSlot, inSteps: Int32Array, outSteps: Int32Array, arena: Arena): ConvPlan {
  const { k, dilation, cin, cout } = slot;
  const indexIn = new Map<number, number>();
  for (let q = 0; q < inSteps.length; q++) indexIn.set(inSteps[q]!, q);
  const indexOut = new Map<number, number>();
  for (let p = 0; p < outSteps.length; p++) indexOut.set(outSteps[p]!, p);
  const tap = arena.i32(outSteps.length * k).fill(-1);
  const back = arena.i32(inSteps.length * k).fill(-1);
  outSteps.forEach((step, p) => {
    for (let j = 0; j < k; j++) {
      const t = step - (k - 1 - j) * dilation;
      if (t < 0) continue;
      const q = indexIn.get(t);
      if (q === undefined) throw new Error(`TCN cone: step ${t} is not computed`);
      tap[p * k + j] = (1 + q) * cin;
    }
  });
  inSteps.forEach((step, q) => {
    for (let j = 0; j < k; j++) {
      const p = indexOut.get(step + (k - 1 - j) * dilation);
      if (p !== undefined) back[q * k + j] = (1 + p) * cout;
    }
  });
  return {
    slot,
    outSteps: outSteps.length,
    inSteps: inSteps.length,
    tap,
    back,
    wf: arena.f64(k * cin * cout),
    wt: arena.f64(k * cout * cin),
    bias: arena.f64(cout),
  };
}

function packForward(c: ConvPlan, params: FloatArray): void {
  const { w, b, k, cin, cout } = c.slot;
  const wf = c.wf;
  for (let o = 0; o < cout; o++)
    for (let j = 0; j < k; j++)
      for (let i = 0; i < cin; i++) wf[(j * cin + i) * cout + o] = params[w + (o * k + j) * cin + i]!;
  for (let o = 0; o < cout; o++) c.bias[o] = params[b + o]!;
}

function packBackward(c: ConvPlan, params: FloatArray): void {
  const { w, k, cin, cout } = c.slot;
  const wt = c.wt;
  for (let o = 0; o < cout; o++)
    for (let j = 0; j < k; j++)
      for (let i = 0; i < cin; i++) wt[(j * cout + o) * cin + i] = params[w + (o * k + j) * cin + i]!;
}

/** Modes of {@link elementPass} (the same numbers as the WebAssembly `elements`). */
const RELU = 0;
const RELU_MASK = 1;
const BACK = 2;
const BACK_MASK = 3;
const SUM_RELU = 4;

/**
 * In-place element pass over `a[from .. from + count)` (b and m indexed alike):
 * RELU `a = a > 0 ? a : 0`; RELU_MASK `a = a > 0 ? a · m : 0` (ReLU then dropout);
 * BACK `a = b > 0 ? a : 0`; BACK_MASK `a = b > 0 ? a · m : 0` (both backwards through them);
 * SUM_RELU `a = relu(a + b)` (the residual sum).
 */
export type ElementPass = (
  mode: number,
  a: Float64Array,
  b: Float64Array | null,
  m: Float64Array | null,
  from: number,
  count: number,
) => void;

/** TypeScript {@link ElementPass}. */
export const elementPass: ElementPass = (mode, a, b, m, from, count) => {
  const to = from + count;
  if (mode === RELU) {
    for (let i = from; i < to; i++) if (!(a[i]! > 0)) a[i] = 0;
  } else if (mode === RELU_MASK) {
    for (let i = from; i < to; i++) {
      const v = a[i]!;
      a[i] = v > 0 ? v * m![i]! : 0;
    }
  } else if (mode === BACK) {
    for (let i = from; i < to; i++) if (!(b![i]! > 0)) a[i] = 0;
  } else if (mode === BACK_MASK) {
    for (let i = from; i < to; i++) a[i] = b![i]! > 0 ? a[i]! * m![i]! : 0;
  } else {
    for (let i = from; i < to; i++) {
      let sum = a[i]! + b![i]!;
      if (!(sum > 0)) sum = 0;
      a[i] = sum;
    }
  }
};

/**
 * Dropout masks are a function of (seed, sequence, element), not of a stream's position, so any
 * thread can draw any sequence's mask: element e (block by block, conv1's cone rows then conv2's,
 * channel fastest) of sequence g of a batch is kept when the (g·E + e)-th SplitMix32 output
 * from `seed` (E: mask values per sequence) is ≥ dropout · 2³², then scaled by 1 / (1 − dropout).
 */
export function dropoutHash(seed: number, index: number): number {
  let z = (seed + Math.imul(index + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Whether {@link dropoutHash} keeps a value at rate `dropout`. */
export function dropoutKeep(seed: number, index: number, dropout: number): boolean {
  return dropoutHash(seed, index) >= Math.floor(dropout * 4294967296);
}

/** What one block keeps between the forward and backward passes, and its gradient buffers. */
interface BlockState {
  conv1: ConvPlan;
  conv2: ConvPlan;
  /** The 1×1 residual conv, or the identity's row map (a K = 1 plan without weights). */
  residual: ConvPlan;
  hasResidualConv: boolean;
  /** Block input (block 0: the batch copied to float64). */
  x: Float64Array;
  h1: Float64Array;
  h2: Float64Array;
  y: Float64Array;
  mask1: Float64Array;
  mask2: Float64Array;
  dA2: Float64Array;
  dH1: Float64Array;
  /** ∂L/∂(block input), which is the previous block's ∂L/∂output (null for block 0). */
  dX: Float64Array | null;
}

/** Every buffer of a workspace. */
interface WorkspaceState {
  blocks: BlockState[];
  /** A zero bias for the ∂L/∂input GEMMs. */
  zeros: Float64Array;
  /** ∂L/∂(top block output). */
  dTop: Float64Array;
  /** The backward pass's own gradient (in the kernels' memory), added to the caller's at the end. */
  grad: Float64Array;
}

function workspaceState(layout: TcnLayout, capacity: number, arena: Arena): WorkspaceState {
  const { steps: L, hidden: H, features: d } = layout.shape;
  const cones = tcnCone(layout);
  const buffer = (steps: number, width: number) => arena.f64((capacity * steps + 1) * width);
  let x: Float64Array = buffer(L, d);
  const blocks = layout.blocks.map((block, b) => {
    const cone = cones[b]!;
    const identity: ConvSlot = { w: 0, b: 0, cin: H, cout: H, k: 1, dilation: 1 };
    const state: BlockState = {
      conv1: convPlan(block.conv1, cone.input, cone.inner, arena),
      conv2: convPlan(block.conv2, cone.inner, cone.output, arena),
      residual: convPlan(block.residual ?? identity, cone.input, cone.output, arena),
      hasResidualConv: block.residual !== null,
      x,
      h1: buffer(cone.inner.length, H),
      h2: buffer(cone.output.length, H),
      y: buffer(cone.output.length, H),
      mask1: buffer(cone.inner.length, H),
      mask2: buffer(cone.output.length, H),
      dA2: buffer(cone.output.length, H),
      dH1: buffer(cone.inner.length, H),
      dX: b > 0 ? buffer(cone.input.length, H) : null,
    };
    x = state.y;
    return state;
  });
  return {
    blocks,
    zeros: arena.f64(Math.max(H, d)),
    dTop: arena.f64((capacity + 1) * H),
    grad: arena.f64(layout.size),
  };
}

/**
 * Reusable buffers for a batch of up to `capacity` sequences, and the forward/backward passes.
 * Activations are float64; weights are read from `params` (float32 or float64) on each call.
 * Only the receptive-field cone of the last step is computed ({@link tcnCone}); the result is
 * the full computation's, up to float rounding.
 */
export class TcnWorkspace {
  readonly #layout: TcnLayout;
  readonly #capacity: number;
  readonly #state: WorkspaceState;
  readonly #gather: GatherBlocks;
  readonly #reduce: ReduceBlocks;
  readonly #pass: ElementPass;
  readonly #mask: MaskFn | null;
  #dropout = false;
  /** Dropout mask values per sequence (every block's conv1 and conv2 rows of the cone). */
  readonly #maskPerSequence: number;
  readonly logits: Float64Array;

  /**
   * With `kernels` 'auto' (the default) the GEMM blocks run as WebAssembly SIMD where available
   * (tcn-wasm.ts), else in TypeScript ('ts' forces that); both give bit-identical results.
   */
  constructor(layout: TcnLayout, capacity: number, kernels: 'auto' | 'ts' = 'auto') {
    this.#layout = layout;
    this.#capacity = capacity;
    const measure = new Arena(null);
    let state = workspaceState(layout, capacity, measure);
    const wasm = kernels === 'auto' ? wasmKernels(measure.bytes) : null;
    if (wasm) {
      state = workspaceState(layout, capacity, new Arena(wasm.memory));
      this.#gather = (out, n, steps, width, tap, taps, depth, inp, inStride, w, bias, accumulate) =>
        wasm.gather(
          out.byteOffset,
          n,
          steps,
          width,
          tap.byteOffset,
          taps,
          depth,
          inp.byteOffset,
          inStride,
          w.byteOffset,
          bias.byteOffset,
          accumulate ? 1 : 0,
        );
      this.#reduce = (grad, wAt, steps, tap, taps, depth, inp, inStride, dOut, width, from, to, bAt) =>
        wasm.reduce(
          grad.byteOffset,
          wAt,
          steps,
          tap.byteOffset,
          taps,
          depth,
          inp.byteOffset,
          inStride,
          dOut.byteOffset,
          width,
          from,
          to,
          bAt,
        );
      this.#mask = wasm.mask;
      this.#pass = (mode, a, b, m, from, count) => {
        const even = count - (count % 2);
        if (even > 0) {
          const at = a.byteOffset + from * 8;
          const bAt = (b ?? a).byteOffset + from * 8;
          wasm.elements(mode, at, bAt, (m ?? a).byteOffset + from * 8, even);
        }
        if (even < count) elementPass(mode, a, b, m, from + even, count - even);
      };
    } else {
      this.#gather = gatherBlocks;
      this.#reduce = reduceBlocks;
      this.#pass = elementPass;
      this.#mask = null;
    }
    this.#state = state;
    this.logits = new Float64Array(capacity);
    const H = layout.shape.hidden;
    this.#maskPerSequence = tcnCone(layout).reduce(
      (sum, c) => sum + (c.inner.length + c.output.length) * H,
      0,
    );
  }

  /** Whether the GEMM blocks run as WebAssembly. */
  get wasm(): boolean {
    return this.#gather !== gatherBlocks;
  }

  /**
   * Logits of n sequences `x` (`[n, T, d]`, already standardised with NaN → 0) into
   * `this.logits`. With `dropout` > 0 and a `seed`, inverted dropout masks are applied after
   * each ReLU inside the blocks (training; see {@link dropoutKeep}: sequence s of this call is
   * sequence `first + s` of the batch the seed belongs to); otherwise no dropout (inference).
   */
  forward(x: FloatArray, n: number, params: FloatArray, dropout = 0, seed?: number, first = 0): Float64Array {
    if (n > this.#capacity)
      throw new RangeError(`batch of ${n} exceeds workspace capacity ${this.#capacity}`);
    const { steps: L, hidden: H, features: d, kernelSize: K } = this.#layout.shape;
    this.#dropout = dropout > 0 && seed !== undefined;
    const keep = 1 / (1 - dropout);
    const cut = Math.floor(dropout * 4294967296);
    const perSequence = this.#maskPerSequence;
    let maskBase = 0;
    // Mask values of `steps` rows per sequence, numbered from maskBase within a sequence.
    const drawMask = (mask: Float64Array, steps: number) => {
      if (!this.#dropout) return;
      const s0 = seed! | 0;
      const count = steps * H;
      const wasmMask = this.#mask;
      if (wasmMask && count % 4 === 0) {
        const start = Math.imul(first, perSequence) + maskBase;
        wasmMask(mask.byteOffset + H * 8, n, count, start, perSequence, s0, cut, keep);
      } else {
        for (let s = 0; s < n; s++) {
          const e0 = Math.imul(first + s, perSequence) + maskBase;
          const row0 = (1 + s * steps) * H;
          for (let e = 0; e < count; e++) mask[row0 + e] = dropoutHash(s0, e0 + e) < cut ? 0 : keep;
        }
      }
      maskBase += steps * H;
    };
    const blocks = this.#state.blocks;
    const gather = this.#gather;
    const pass = this.#pass;
    blocks[0]!.x.set(x.subarray(0, n * L * d), d);
    for (const st of blocks) {
      const { conv1, conv2, residual } = st;
      const cin = conv1.slot.cin;
      const inStride = conv1.inSteps * cin;
      const innerStride = conv1.outSteps * H;
      packForward(conv1, params);
      packForward(conv2, params);
      const rows1 = n * conv1.outSteps;
      gatherGemm(
        st.h1,
        n,
        conv1.outSteps,
        H,
        conv1.tap,
        K,
        cin,
        st.x,
        inStride,
        conv1.wf,
        conv1.bias,
        false,
        gather,
      );
      drawMask(st.mask1, conv1.outSteps);
      if (this.#dropout) pass(RELU_MASK, st.h1, null, st.mask1, H, rows1 * H);
      else pass(RELU, st.h1, null, null, H, rows1 * H);
      const steps2 = conv2.outSteps;
      const rows2 = n * steps2;
      gatherGemm(
        st.h2,
        n,
        steps2,
        H,
        conv2.tap,
        K,
        H,
        st.h1,
        innerStride,
        conv2.wf,
        conv2.bias,
        false,
        gather,
      );
      drawMask(st.mask2, steps2);
      if (this.#dropout) pass(RELU_MASK, st.h2, null, st.mask2, H, rows2 * H);
      else pass(RELU, st.h2, null, null, H, rows2 * H);
      const { y, h2 } = st;
      if (st.hasResidualConv) {
        packForward(residual, params);
        gatherGemm(
          y,
          n,
          steps2,
          H,
          residual.tap,
          1,
          cin,
          st.x,
          inStride,
          residual.wf,
          residual.bias,
          false,
          gather,
        );
      } else {
        // Identity: the input's rows at the output's steps.
        const xin = st.x;
        for (let p = 0; p < steps2; p++) {
          const from0 = residual.tap[p]!;
          for (let s = 0; s < n; s++) {
            const from = from0 + s * inStride;
            y.set(xin.subarray(from, from + H), (1 + s * steps2 + p) * H);
          }
        }
      }
      pass(SUM_RELU, y, h2, null, H, rows2 * H);
    }
    // The top block's cone is the last step alone: one row per sequence.
    const top = blocks[blocks.length - 1]!.y;
    const { headW, headB } = this.#layout;
    for (let s = 0; s < n; s++) {
      const row = (s + 1) * H;
      let z = params[headB]!;
      for (let h = 0; h < H; h++) z += params[headW + h]! * top[row + h]!;
      this.logits[s] = z;
    }
    return this.logits;
  }

  /**
   * Backward pass after {@link forward} on the same batch: `dLogits[s]` = ∂L/∂logit of sequence
   * s; adds ∂L/∂θ into `out` (or, with `overwrite`, writes it there).
   */
  backward(
    dLogits: ArrayLike<number>,
    n: number,
    params: FloatArray,
    out: Float64Array,
    overwrite = false,
  ): void {
    const { hidden: H, kernelSize: K } = this.#layout.shape;
    const { headW, headB } = this.#layout;
    const { blocks, zeros } = this.#state;
    const gather = this.#gather;
    const reduce = this.#reduce;
    const pass = this.#pass;
    // The kernels add into the workspace's own gradient, which is added to `out` at the end.
    const grad = this.#state.grad;
    grad.fill(0);
    const topY = blocks[blocks.length - 1]!.y;
    let dS: Float64Array = this.#state.dTop;
    for (let s = 0; s < n; s++) {
      const g = dLogits[s]!;
      const row = (s + 1) * H;
      grad[headB] = grad[headB]! + g;
      for (let h = 0; h < H; h++) {
        const y = topY[row + h]!;
        grad[headW + h] = grad[headW + h]! + g * y;
        // Through the block's final ReLU: S > 0 ⇔ y > 0.
        dS[row + h] = y > 0 ? g * params[headW + h]! : 0;
      }
    }
    for (let b = blocks.length - 1; b >= 0; b--) {
      const st = blocks[b]!;
      const { conv1, conv2, residual } = st;
      const cin = conv1.slot.cin;
      const inStride = conv1.inSteps * cin;
      const innerStride = conv1.outSteps * H;
      const outStride = conv2.outSteps * H;
      const rows1 = n * conv1.outSteps;
      const rows2 = n * conv2.outSteps;
      const mask1 = this.#dropout ? st.mask1 : null;
      const mask2 = this.#dropout ? st.mask2 : null;
      // dA2 = dS ⊙ mask2 ⊙ [A2 > 0] (h2 > 0 ⇔ A2 > 0 where the mask keeps the value).
      const dA2 = st.dA2;
      dA2.set(dS.subarray(H, H + rows2 * H), H);
      if (mask2) pass(BACK_MASK, dA2, st.h2, mask2, H, rows2 * H);
      else pass(BACK, dA2, st.h2, null, H, rows2 * H);
      const c2 = conv2;
      reduceGemm(
        grad,
        c2.slot.w,
        c2.slot.b,
        n,
        c2.outSteps,
        c2.tap,
        K,
        H,
        st.h1,
        innerStride,
        dA2,
        H,
        reduce,
      );
      packBackward(conv2, params);
      const dH1 = st.dH1;
      gatherGemm(dH1, n, conv2.inSteps, H, conv2.back, K, H, dA2, outStride, conv2.wt, zeros, false, gather);
      if (mask1) pass(BACK_MASK, dH1, st.h1, mask1, H, rows1 * H);
      else pass(BACK, dH1, st.h1, null, H, rows1 * H);
      const c1 = conv1;
      reduceGemm(grad, c1.slot.w, c1.slot.b, n, c1.outSteps, c1.tap, K, cin, st.x, inStride, dH1, H, reduce);
      if (st.hasResidualConv) {
        const r = residual;
        reduceGemm(grad, r.slot.w, r.slot.b, n, r.outSteps, r.tap, 1, cin, st.x, inStride, dS, H, reduce);
      }
      const dX = st.dX;
      if (!dX) continue;
      const steps0 = conv1.inSteps;
      const rows0 = n * steps0;
      packBackward(conv1, params);
      gatherGemm(dX, n, steps0, cin, conv1.back, K, H, dH1, innerStride, conv1.wt, zeros, false, gather);
      if (st.hasResidualConv) {
        packBackward(residual, params);
        gatherGemm(dX, n, steps0, cin, residual.back, 1, H, dS, outStride, residual.wt, zeros, true, gather);
      } else {
        for (let q = 0; q < steps0; q++) {
          const from0 = residual.back[q]!;
          if (from0 < 0) continue;
          for (let s = 0; s < n; s++) {
            const from = from0 + s * outStride;
            const to = (1 + s * steps0 + q) * H;
            for (let h = 0; h < H; h++) dX[to + h] = dX[to + h]! + dS[from + h]!;
          }
        }
      }
      // Into the previous block's output ReLU.
      const prevY = blocks[b - 1]!.y;
      pass(BACK, dX, prevY, null, H, rows0 * H);
      dS = dX;
    }
    if (overwrite) out.set(grad);
    else for (let i = 0; i < out.length; i++) out[i] = out[i]! + grad[i]!;
  }
}
