import { MISSING_BIN, type QuantileBins } from './quantile-bins.js';
import { type RegressionTree, RegressionTreeBuilder } from './regression-tree.js';
import { WasmHistogram } from './wasm-histogram.js';

/** Slots per (feature, bin): gradient sum, hessian sum, row count. */
const STRIDE = 3;
const BINS = 256;
/** Slots of one feature's histogram. */
const FEATURE_SLOTS = BINS * STRIDE;

export interface TreeGrowthParams {
  maxDepth: number;
  minChildWeight: number;
  /** Minimum training rows in each child (1: any non-empty child). */
  minSamplesLeaf: number;
  lambda: number;
  learningRate: number;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  gradLeft: number;
  hessLeft: number;
}

interface OpenNode {
  id: number;
  start: number;
  end: number;
  /** Undefined for nodes at maximum depth, which become leaves without a histogram. */
  hist: Float64Array | undefined;
  grad: number;
  hess: number;
}

/**
 * Add the node's rows (`rows[start, start + m)`, their gradients and hessians gathered in the
 * same order into `gh`, interleaved) to the histograms of eight features at once, given by
 * their column offsets `c*` into the column-major `binned` and their histogram offsets `o*`.
 * Eight independent histograms per pass share the row's index and gradient loads and let the
 * CPU overlap the read-add-write chains of different features. Each bin adds its rows in
 * `rows` order, so the sums are the same however the features are grouped.
 */
function histogram8(
  hist: Float64Array,
  binned: Uint8Array,
  rows: Uint32Array,
  start: number,
  m: number,
  gh: Float64Array,
  c: Int32Array,
  o: Int32Array,
  k: number,
): void {
  const c0 = c[k]!;
  const c1 = c[k + 1]!;
  const c2 = c[k + 2]!;
  const c3 = c[k + 3]!;
  const c4 = c[k + 4]!;
  const c5 = c[k + 5]!;
  const c6 = c[k + 6]!;
  const c7 = c[k + 7]!;
  const o0 = o[k]!;
  const o1 = o[k + 1]!;
  const o2 = o[k + 2]!;
  const o3 = o[k + 3]!;
  const o4 = o[k + 4]!;
  const o5 = o[k + 5]!;
  const o6 = o[k + 6]!;
  const o7 = o[k + 7]!;
  for (let i = 0; i < m; i++) {
    const r = rows[start + i]!;
    const gr = gh[2 * i]!;
    const hr = gh[2 * i + 1]!;
    let j = o0 + binned[c0 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o1 + binned[c1 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o2 + binned[c2 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o3 + binned[c3 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o4 + binned[c4 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o5 + binned[c5 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o6 + binned[c6 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o7 + binned[c7 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
  }
}

/** {@link histogram8} for four features. */
function histogram4(
  hist: Float64Array,
  binned: Uint8Array,
  rows: Uint32Array,
  start: number,
  m: number,
  gh: Float64Array,
  c: Int32Array,
  o: Int32Array,
  k: number,
): void {
  const c0 = c[k]!;
  const c1 = c[k + 1]!;
  const c2 = c[k + 2]!;
  const c3 = c[k + 3]!;
  const o0 = o[k]!;
  const o1 = o[k + 1]!;
  const o2 = o[k + 2]!;
  const o3 = o[k + 3]!;
  for (let i = 0; i < m; i++) {
    const r = rows[start + i]!;
    const gr = gh[2 * i]!;
    const hr = gh[2 * i + 1]!;
    let j = o0 + binned[c0 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o1 + binned[c1 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o2 + binned[c2 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
    j = o3 + binned[c3 + r]! * STRIDE;
    hist[j] = hist[j]! + gr;
    hist[j + 1] = hist[j + 1]! + hr;
    hist[j + 2] = hist[j + 2]! + 1;
  }
}

/** {@link histogram8} for one feature. */
function histogram1(
  hist: Float64Array,
  binned: Uint8Array,
  rows: Uint32Array,
  start: number,
  m: number,
  gh: Float64Array,
  c: Int32Array,
  o: Int32Array,
  k: number,
): void {
  const c0 = c[k]!;
  const o0 = o[k]!;
  for (let i = 0; i < m; i++) {
    const j = o0 + binned[c0 + rows[start + i]!]! * STRIDE;
    hist[j] = hist[j]! + gh[2 * i]!;
    hist[j + 1] = hist[j + 1]! + gh[2 * i + 1]!;
    hist[j + 2] = hist[j + 2]! + 1;
  }
}

/** `gh[2i]`, `gh[2i + 1]` = gradient and hessian of row `rows[start + i]`. */
function gather(
  rows: Uint32Array,
  start: number,
  end: number,
  g: Float64Array,
  h: Float64Array,
  gh: Float64Array,
): void {
  for (let i = start, j = 0; i < end; i++, j += 2) {
    const r = rows[i]!;
    gh[j] = g[r]!;
    gh[j + 1] = h[r]!;
  }
}

/** `parent` −= `child` over the histograms of the features at `offsets[0, count)`. */
function subtractHistogram(
  parent: Float64Array,
  child: Float64Array,
  offsets: Int32Array,
  count: number,
): void {
  for (let k = 0; k < count; k++) {
    const o = offsets[k]!;
    const end = o + FEATURE_SLOTS;
    for (let j = o; j < end; j++) parent[j] = parent[j]! - child[j]!;
  }
}

/**
 * Stable partition of rows[start, end) by `goLeft[bin]` of column `col`, without branching on
 * the data; returns the boundary.
 */
function partitionRows(
  rows: Uint32Array,
  start: number,
  end: number,
  binned: Uint8Array,
  col: number,
  goLeft: Uint8Array,
  scratch: Uint32Array,
): number {
  let write = start;
  let spill = 0;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const left = goLeft[binned[col + r]!]!;
    rows[write] = r;
    scratch[spill] = r;
    write += left;
    spill += 1 - left;
  }
  rows.set(scratch.subarray(0, spill), write);
  return write;
}

/**
 * Depth-wise histogram tree growth with XGBoost's logistic-loss split gain
 * `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)`, a learned default direction for missing values,
 * and the histogram subtraction trick (build the smaller child, subtract for the larger).
 * Rows are kept as one index array partitioned in place per node; no per-row allocation.
 * Histograms are built, and rows partitioned, by the WebAssembly SIMD loops of
 * {@link WasmHistogram} where the runtime has them, else by the TypeScript loops here: both add
 * the same numbers in the same order, so the trees are bit-identical.
 */
export class HistogramTreeGrower {
  readonly #bins: QuantileBins;
  readonly #params: TreeGrowthParams;
  readonly #pool: Float64Array[] = [];
  readonly #scratch: Uint32Array;
  /** A node's gradients and hessians, interleaved, in the order of its rows. */
  readonly #gh: Float64Array;
  /** Of the features the current tree uses: column offsets into `binned`, histogram offsets. */
  readonly #columns: Int32Array;
  readonly #offsets: Int32Array;
  #featureCount = 0;
  /** Per bin: 1 when the split being applied sends it left. */
  readonly #goLeft = new Uint8Array(BINS);
  /** Leaves of the last grown tree: row range [start, end) in its `rows` and value, flattened. */
  #leaves: number[] = [];
  /** Rows of the last grown tree's sample that reached each node, by node id. */
  #nodeRows: number[] = [];

  /** The WebAssembly histogram loop; undefined → the TypeScript loops (same sums). */
  readonly #wasm: WasmHistogram | undefined;

  /**
   * `threads`: how many threads large histograms are built on, the calling one included (see
   * {@link WasmHistogram}; the trees do not depend on it). `kernel` 'typescript' forces the
   * TypeScript loops (tests compare the two). Call `close()` when done to stop worker threads.
   */
  constructor(
    bins: QuantileBins,
    params: TreeGrowthParams,
    options: { threads?: number; kernel?: 'auto' | 'typescript' } = {},
  ) {
    this.#bins = bins;
    this.#params = params;
    this.#wasm =
      (options.kernel ?? 'auto') === 'auto'
        ? (WasmHistogram.create(bins.binned, bins.rows, bins.features, options.threads ?? 1) ?? undefined)
        : undefined;
    // Row scratch and gathered pairs of the TypeScript loops (the WebAssembly ones have their own).
    this.#scratch = new Uint32Array(this.#wasm ? 0 : bins.rows);
    this.#gh = new Float64Array(this.#wasm ? 0 : 2 * bins.rows);
    this.#columns = new Int32Array(bins.features);
    this.#offsets = new Int32Array(bins.features);
  }

  /** Threads the histograms are built on (1 with the TypeScript loops or small data). */
  get threads(): number {
    return this.#wasm?.threads ?? 1;
  }

  /** Stop the histogram worker threads, if any (idempotent). */
  close(): void {
    this.#wasm?.close();
  }

  /** Rows (of those `grow` was given) that reached each node of the last grown tree, by node id. */
  get nodeRows(): Int32Array {
    return Int32Array.from(this.#nodeRows);
  }

  #acquire(): Float64Array {
    const hist = this.#pool.pop();
    if (hist) return hist.fill(0);
    return new Float64Array(this.#bins.features * FEATURE_SLOTS);
  }

  #build(
    hist: Float64Array,
    rows: Uint32Array,
    start: number,
    end: number,
    g: Float64Array,
    h: Float64Array,
  ): void {
    const wasm = this.#wasm;
    const m = end - start;
    if (wasm) {
      gather(rows, start, end, g, h, wasm.gh);
      const scratch = wasm.hist;
      const offsets = this.#offsets;
      const nf = this.#featureCount;
      for (let k = 0; k < nf; k++) scratch.fill(0, offsets[k]!, offsets[k]! + FEATURE_SLOTS);
      wasm.build(start, m);
      for (let k = 0; k < nf; k++) {
        const o = offsets[k]!;
        hist.set(scratch.subarray(o, o + FEATURE_SLOTS), o);
      }
      return;
    }
    const gh = this.#gh;
    gather(rows, start, end, g, h, gh);
    const binned = this.#bins.binned;
    const columns = this.#columns;
    const offsets = this.#offsets;
    const nf = this.#featureCount;
    let k = 0;
    for (; k + 8 <= nf; k += 8) histogram8(hist, binned, rows, start, m, gh, columns, offsets, k);
    for (; k + 4 <= nf; k += 4) histogram4(hist, binned, rows, start, m, gh, columns, offsets, k);
    for (; k < nf; k++) histogram1(hist, binned, rows, start, m, gh, columns, offsets, k);
  }

  #bestSplit(node: OpenNode, hist: Float64Array, features: Int32Array): Split | undefined {
    const { lambda, minChildWeight, minSamplesLeaf } = this.#params;
    const G = node.grad;
    const H = node.hess;
    const C = node.end - node.start;
    if (C < 2 * minSamplesLeaf) return undefined;
    const parent = (G * G) / (H + lambda);
    let best: Split | undefined;
    let bestGain = 1e-12;
    for (let k = 0; k < features.length; k++) {
      const f = features[k]!;
      const nb = this.#bins.edges[f]!.length;
      const o = f * FEATURE_SLOTS;
      const mo = o + MISSING_BIN * STRIDE;
      const mG = hist[mo]!;
      const mH = hist[mo + 1]!;
      const mC = hist[mo + 2]!;
      const lastBin = mC > 0 ? nb - 1 : nb - 2;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b <= lastBin; b++) {
        const bo = o + b * STRIDE;
        gl += hist[bo]!;
        hl += hist[bo + 1]!;
        cl += hist[bo + 2]!;
        // Missing rows (if any) right.
        let cR = C - cl;
        let hR = H - hl;
        if (cl >= minSamplesLeaf && cR >= minSamplesLeaf && hl >= minChildWeight && hR >= minChildWeight) {
          const gR = G - gl;
          const gain = (gl * gl) / (hl + lambda) + (gR * gR) / (hR + lambda) - parent;
          if (gain > bestGain) {
            bestGain = gain;
            // Without missing rows in training, unseen NaN follows the larger child.
            const missingLeft = mC > 0 ? false : cl >= cR;
            best = { gain, feature: f, bin: b, missingLeft, gradLeft: gl, hessLeft: hl };
          }
        }
        // Missing rows left: only when there are some and values on both sides.
        if (mC === 0 || b === nb - 1) continue;
        const gL = gl + mG;
        const hL = hl + mH;
        const cL = cl + mC;
        cR = C - cL;
        hR = H - hL;
        if (cL >= minSamplesLeaf && cR >= minSamplesLeaf && hL >= minChildWeight && hR >= minChildWeight) {
          const gR = G - gL;
          const gain = (gL * gL) / (hL + lambda) + (gR * gR) / (hR + lambda) - parent;
          if (gain > bestGain) {
            bestGain = gain;
            best = { gain, feature: f, bin: b, missingLeft: true, gradLeft: gL, hessLeft: hL };
          }
        }
      }
    }
    return best;
  }

  /** Partition rows[start, end) stably into left then right; returns the boundary. */
  #partition(rows: Uint32Array, start: number, end: number, split: Split): number {
    // goLeft per bin, so the loop has no data-dependent branch: each row is written to both
    // sides and only the side it belongs to advances.
    const goLeft = this.#goLeft;
    for (let b = 0; b < BINS; b++) goLeft[b] = b <= split.bin ? 1 : 0;
    goLeft[MISSING_BIN] = split.missingLeft ? 1 : 0;
    if (this.#wasm && rows === this.#wasm.rows) {
      return start + this.#wasm.partition(start, end - start, split.feature * this.#bins.rows, goLeft);
    }
    return partitionRows(
      rows,
      start,
      end,
      this.#bins.binned,
      split.feature * this.#bins.rows,
      goLeft,
      this.#scratch,
    );
  }

  #leafValue(grad: number, hess: number): number {
    return Math.fround((-grad / (hess + this.#params.lambda)) * this.#params.learningRate);
  }

  /**
   * Grow one tree on `rows[0, count)` (reordered in place) using only `features`.
   * `g` and `h` are the per-row gradient and hessian of the loss at the current margin.
   */
  grow(
    g: Float64Array,
    h: Float64Array,
    sample: Uint32Array,
    count: number,
    features: Int32Array,
  ): RegressionTree {
    // With the WebAssembly loop the rows live in its memory while the tree grows.
    const rows = this.#wasm ? this.#wasm.rows : sample;
    if (rows !== sample) rows.set(sample.subarray(0, count));
    const tree = this.#growOn(g, h, rows, count, features);
    if (rows !== sample) sample.set(rows.subarray(0, count));
    return tree;
  }

  #growOn(
    g: Float64Array,
    h: Float64Array,
    rows: Uint32Array,
    count: number,
    features: Int32Array,
  ): RegressionTree {
    const tree = new RegressionTreeBuilder();
    const leaves: number[] = [];
    this.#leaves = leaves;
    const nodeRows: number[] = [];
    this.#nodeRows = nodeRows;
    this.#featureCount = features.length;
    for (let k = 0; k < features.length; k++) {
      this.#columns[k] = features[k]! * this.#bins.rows;
      this.#offsets[k] = features[k]! * FEATURE_SLOTS;
    }
    this.#wasm?.useFeatures(this.#columns, this.#offsets, features.length);
    const rootHist = this.#acquire();
    this.#build(rootHist, rows, 0, count, g, h);
    let grad = 0;
    let hess = 0;
    for (let i = 0; i < count; i++) {
      grad += g[rows[i]!]!;
      hess += h[rows[i]!]!;
    }
    let level: OpenNode[] = [{ id: 0, start: 0, end: count, hist: rootHist, grad, hess }];
    for (let depth = 0; level.length > 0; depth++) {
      const next: OpenNode[] = [];
      for (const node of level) {
        nodeRows[node.id] = node.end - node.start;
        const split =
          depth < this.#params.maxDepth && node.hist ? this.#bestSplit(node, node.hist, features) : undefined;
        if (!split) {
          const value = this.#leafValue(node.grad, node.hess);
          tree.leaf(node.id, value);
          leaves.push(node.start, node.end, value);
          if (node.hist) this.#pool.push(node.hist);
          continue;
        }
        const mid = this.#partition(rows, node.start, node.end, split);
        const threshold = this.#bins.edges[split.feature]![split.bin]!;
        const [leftId, rightId] = tree.split(node.id, split.feature, split.bin, threshold, split.missingLeft);
        const left: OpenNode = {
          id: leftId,
          start: node.start,
          end: mid,
          hist: node.hist,
          grad: split.gradLeft,
          hess: split.hessLeft,
        };
        const right: OpenNode = {
          id: rightId,
          start: mid,
          end: node.end,
          hist: node.hist,
          grad: node.grad - split.gradLeft,
          hess: node.hess - split.hessLeft,
        };
        next.push(left, right);
        // A split was only searched for on a node with a histogram.
        const parentHist = node.hist!;
        if (depth + 1 >= this.#params.maxDepth) {
          // Children will be leaves: they need only their gradient sums, not histograms.
          left.hist = undefined;
          right.hist = undefined;
          this.#pool.push(parentHist);
          continue;
        }
        const [small, large] = mid - node.start <= node.end - mid ? [left, right] : [right, left];
        small.hist = this.#acquire();
        this.#build(small.hist, rows, small.start, small.end, g, h);
        // The parent's histogram minus the smaller child's is the larger child's.
        const smallHist = small.hist;
        large.hist = parentHist;
        subtractHistogram(parentHist, smallHist, this.#offsets, this.#featureCount);
      }
      level = next;
    }
    return tree.build();
  }

  /**
   * Add the last grown tree's leaf values to `margin` for the rows it was grown on (`rows`, as
   * `grow` left them): each leaf's rows are one range of `rows`, so no traversal is needed.
   */
  addToMargin(margin: Float64Array, rows: Uint32Array): void {
    const leaves = this.#leaves;
    for (let l = 0; l < leaves.length; l += 3) {
      const end = leaves[l + 1]!;
      const value = leaves[l + 2]!;
      for (let i = leaves[l]!; i < end; i++) {
        const r = rows[i]!;
        margin[r] = margin[r]! + value;
      }
    }
  }
}
