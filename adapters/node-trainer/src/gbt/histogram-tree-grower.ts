import { MISSING_BIN, type QuantileBins } from './quantile-bins.js';
import { type RegressionTree, RegressionTreeBuilder } from './regression-tree.js';

/** Slots per (feature, bin): gradient sum, hessian sum, row count. */
const STRIDE = 3;
const BINS = 256;

export interface TreeGrowthParams {
  maxDepth: number;
  minChildWeight: number;
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
 * Depth-wise histogram tree growth with XGBoost's logistic-loss split gain
 * `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)`, a learned default direction for missing values,
 * and the histogram subtraction trick (build the smaller child, subtract for the larger).
 * Rows are kept as one index array partitioned in place per node; no per-row allocation.
 */
export class HistogramTreeGrower {
  readonly #bins: QuantileBins;
  readonly #params: TreeGrowthParams;
  readonly #pool: Float64Array[] = [];
  readonly #scratch: Uint32Array;

  constructor(bins: QuantileBins, params: TreeGrowthParams) {
    this.#bins = bins;
    this.#params = params;
    this.#scratch = new Uint32Array(bins.rows);
  }

  #acquire(): Float64Array {
    const hist = this.#pool.pop();
    if (hist) return hist.fill(0);
    return new Float64Array(this.#bins.features * BINS * STRIDE);
  }

  #build(
    hist: Float64Array,
    rows: Uint32Array,
    start: number,
    end: number,
    g: Float64Array,
    h: Float64Array,
    features: Int32Array,
  ): void {
    const d = this.#bins.features;
    const binned = this.#bins.binned;
    const nf = features.length;
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      const gr = g[r]!;
      const hr = h[r]!;
      const base = r * d;
      for (let k = 0; k < nf; k++) {
        const f = features[k]!;
        const o = (f * BINS + binned[base + f]!) * STRIDE;
        hist[o] = hist[o]! + gr;
        hist[o + 1] = hist[o + 1]! + hr;
        hist[o + 2] = hist[o + 2]! + 1;
      }
    }
  }

  #bestSplit(node: OpenNode, hist: Float64Array, features: Int32Array): Split | undefined {
    const { lambda, minChildWeight } = this.#params;
    const G = node.grad;
    const H = node.hess;
    const C = node.end - node.start;
    const parent = (G * G) / (H + lambda);
    let best: Split | undefined;
    let bestGain = 1e-12;
    for (let k = 0; k < features.length; k++) {
      const f = features[k]!;
      const nb = this.#bins.edges[f]!.length;
      const o = f * BINS * STRIDE;
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
        for (let option = 0; option < 2; option++) {
          // option 0: missing goes right; option 1: missing goes left (only when there are missing rows
          // and values on both sides).
          if (option === 1 && (mC === 0 || b === nb - 1)) break;
          const gL = option === 1 ? gl + mG : gl;
          const hL = option === 1 ? hl + mH : hl;
          const cL = option === 1 ? cl + mC : cl;
          const cR = C - cL;
          const hR = H - hL;
          if (cL === 0 || cR === 0 || hL < minChildWeight || hR < minChildWeight) continue;
          const gR = G - gL;
          const gain = (gL * gL) / (hL + lambda) + (gR * gR) / (hR + lambda) - parent;
          if (gain > bestGain) {
            bestGain = gain;
            // Without missing rows in training, unseen NaN follows the larger child.
            const missingLeft = mC > 0 ? option === 1 : cL >= cR;
            best = { gain, feature: f, bin: b, missingLeft, gradLeft: gL, hessLeft: hL };
          }
        }
      }
    }
    return best;
  }

  /** Partition rows[start, end) stably into left then right; returns the boundary. */
  #partition(rows: Uint32Array, start: number, end: number, split: Split): number {
    const d = this.#bins.features;
    const binned = this.#bins.binned;
    const scratch = this.#scratch;
    const { feature, bin, missingLeft } = split;
    let write = start;
    let spill = 0;
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      const b = binned[r * d + feature]!;
      const goLeft = b === MISSING_BIN ? missingLeft : b <= bin;
      if (goLeft) rows[write++] = r;
      else scratch[spill++] = r;
    }
    rows.set(scratch.subarray(0, spill), write);
    return write;
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
    rows: Uint32Array,
    count: number,
    features: Int32Array,
  ): RegressionTree {
    const tree = new RegressionTreeBuilder();
    const rootHist = this.#acquire();
    this.#build(rootHist, rows, 0, count, g, h, features);
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
        const split =
          depth < this.#params.maxDepth && node.hist ? this.#bestSplit(node, node.hist, features) : undefined;
        if (!split) {
          tree.leaf(node.id, this.#leafValue(node.grad, node.hess));
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
        this.#build(small.hist, rows, small.start, small.end, g, h, features);
        // The parent's histogram minus the smaller child's is the larger child's.
        const smallHist = small.hist;
        large.hist = parentHist;
        for (let k = 0; k < features.length; k++) {
          const o = features[k]! * BINS * STRIDE;
          for (let j = o; j < o + BINS * STRIDE; j++) parentHist[j] = parentHist[j]! - smallHist[j]!;
        }
      }
      level = next;
    }
    return tree.build();
  }
}
