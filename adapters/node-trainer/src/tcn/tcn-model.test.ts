import { createRng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { initParams, TcnWorkspace, tcnLayout } from './tcn-model.js';

/** Mean BCE of the logits against labels, and its gradient per logit. */
function bce(logits: ArrayLike<number>, y: number[]): { loss: number; d: number[] } {
  let loss = 0;
  const d: number[] = [];
  for (let s = 0; s < y.length; s++) {
    const z = logits[s]!;
    const p = 1 / (1 + Math.exp(-z));
    loss += y[s] === 1 ? -Math.log(p) : -Math.log(1 - p);
    d.push((p - y[s]!) / y.length);
  }
  return { loss: loss / y.length, d };
}

describe('TCN backward pass matches finite differences', () => {
  // d = 3 features ≠ H = 4 channels: block 0 has a 1×1 residual conv, block 1 an identity.
  for (const dropout of [0, 0.3]) {
    it(`every parameter of every layer (dropout ${dropout})`, () => {
      const layout = tcnLayout({ features: 3, steps: 7, blocks: 3, kernelSize: 3, hidden: 4 });
      const rng = createRng(42);
      const params = new Float64Array(layout.size);
      initParams(layout, params, rng.next);
      // Non-zero biases so ReLUs sit on both sides.
      for (let i = 0; i < params.length; i++) params[i] = params[i]! + 0.05 * rng.normal();
      const n = 5;
      const x = Float64Array.from({ length: n * 7 * 3 }, () => rng.normal());
      const y = [1, 0, 1, 1, 0];
      const ws = new TcnWorkspace(layout, n);
      // The same dropout masks on every evaluation: replay one seeded stream.
      const loss = () => bce(ws.forward(x, n, params, dropout, createRng(9).next), y);
      const { d } = loss();
      const grad = new Float64Array(layout.size);
      ws.backward(d, n, params, grad);

      const tensors: [string, number, number][] = [];
      layout.blocks.forEach((b, i) => {
        for (const [name, c] of [
          ['conv1', b.conv1],
          ['conv2', b.conv2],
          ['residual', b.residual],
        ] as const) {
          if (!c) continue;
          tensors.push([`block${i}.${name}.weight`, c.w, c.cout * c.k * c.cin]);
          tensors.push([`block${i}.${name}.bias`, c.b, c.cout]);
        }
      });
      tensors.push(['head.weight', layout.headW, 4], ['head.bias', layout.headB, 1]);
      expect(tensors.length).toBe(3 * 4 + 2 + 2);
      const h = 1e-6;
      for (const [name, from, count] of tensors) {
        let worst = 0;
        let scale = 0;
        for (let i = from; i < from + count; i++) {
          const keep = params[i]!;
          params[i] = keep + h;
          const up = loss().loss;
          params[i] = keep - h;
          const down = loss().loss;
          params[i] = keep;
          const numeric = (up - down) / (2 * h);
          worst = Math.max(worst, Math.abs(numeric - grad[i]!));
          scale = Math.max(scale, Math.abs(numeric));
        }
        expect(scale, `${name} has a non-zero gradient`).toBeGreaterThan(1e-6);
        expect(worst / scale, `${name}: max |numeric − analytic| / max |numeric|`).toBeLessThan(1e-5);
      }
    });
  }
});
