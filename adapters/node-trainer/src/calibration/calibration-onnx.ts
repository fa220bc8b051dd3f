import { type GraphPart, probabilityHead, probabilityTail } from '../artifact/probability-head.js';
import { floatTensor, node, type OnnxValueInfoMessage } from '../onnx/onnx-graph.js';
import type { Calibrator } from './calibrator.js';

/** `metadata_props` key naming the calibrator inside the graph (`platt` | `isotonic`); absent when none. */
export const CALIBRATION_KEY = 'vigil.calibration';

/** What a model's graph body hands the tail: a logit (gbt, logistic) or P(event) itself (cart). */
export type ScoreKind = 'logit' | 'probability';

/**
 * The end of every Vigil graph, from the model's score `[N, 1]` to the contract's outputs,
 * with an optional calibrator in between (standard default-domain ops, opset ≤ 17):
 *
 * - none: `Sigmoid` for a logit, nothing for a probability; then `probabilities`/`label`;
 * - Platt: `p = Sigmoid(score · platt_slope + platt_intercept)` with slope = −a, intercept = −b
 *   of sklearn's `1 / (1 + exp(a·score + b))`;
 * - isotonic: `p = iso_base + MatMul(Min(Max(score, iso_lo), iso_hi) − iso_lo, iso_slope)`,
 *   the sum over the K − 1 segments between knots of slope × (the part of the segment below the
 *   score), which is linear interpolation clipped to the knots' range; then clamped to [0, 1].
 */
export function modelTail(
  score: string,
  kind: ScoreKind,
  calibration?: Calibrator,
): GraphPart & { outputs: OnnxValueInfoMessage[]; metadata: Record<string, string> } {
  if (!calibration) {
    return { ...(kind === 'logit' ? probabilityHead(score) : probabilityTail(score)), metadata: {} };
  }
  const metadata = { [CALIBRATION_KEY]: calibration.method };
  if (calibration.method === 'platt') {
    const head = probabilityHead('platt_logit');
    return {
      nodes: [
        node('Mul', [score, 'platt_slope'], ['platt_scaled']),
        node('Add', ['platt_scaled', 'platt_intercept'], ['platt_logit']),
        ...head.nodes,
      ],
      initializers: [
        floatTensor('platt_slope', [1], [-calibration.a]),
        floatTensor('platt_intercept', [1], [-calibration.b]),
        ...head.initializers,
      ],
      outputs: head.outputs,
      metadata,
    };
  }
  const { x, y } = calibration;
  const lo: number[] = [];
  const hi: number[] = [];
  const slope: number[] = [];
  if (x.length === 1) {
    lo.push(x[0]!);
    hi.push(x[0]!);
    slope.push(0);
  } else {
    for (let k = 0; k + 1 < x.length; k++) {
      lo.push(x[k]!);
      hi.push(x[k + 1]!);
      slope.push((y[k + 1]! - y[k]!) / (x[k + 1]! - x[k]!));
    }
  }
  const segments = lo.length;
  const tail = probabilityTail('p_calibrated');
  return {
    nodes: [
      node('Max', [score, 'iso_lo'], ['iso_above_lo']),
      node('Min', ['iso_above_lo', 'iso_hi'], ['iso_clipped']),
      node('Sub', ['iso_clipped', 'iso_lo'], ['iso_ramp']),
      node('MatMul', ['iso_ramp', 'iso_slope'], ['iso_rise']),
      node('Add', ['iso_rise', 'iso_base'], ['iso_raw']),
      node('Max', ['iso_raw', 'iso_zero'], ['iso_nonneg']),
      node('Min', ['iso_nonneg', 'iso_one'], ['p_calibrated']),
      ...tail.nodes,
    ],
    initializers: [
      floatTensor('iso_lo', [segments], lo),
      floatTensor('iso_hi', [segments], hi),
      floatTensor('iso_slope', [segments, 1], slope),
      floatTensor('iso_base', [1], [y[0]!]),
      floatTensor('iso_zero', [], [0]),
      floatTensor('iso_one', [], [1]),
      ...tail.initializers,
    ],
    outputs: tail.outputs,
    metadata,
  };
}
