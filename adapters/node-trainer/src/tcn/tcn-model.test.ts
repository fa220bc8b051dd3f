import { createRng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { type ConvSlot, dropoutKeep, initParams, TcnWorkspace, tcnCone, tcnLayout } from './tcn-model.js';

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
      // The same dropout masks on every evaluation: they are a function of the seed.
      const loss = () => bce(ws.forward(x, n, params, dropout, 9), y);
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

describe('TcnWorkspace in shards', () => {
  const layout = tcnLayout({ features: 5, steps: 9, blocks: 3, kernelSize: 3, hidden: 8 });
  const rng = createRng(5);
  const params = new Float32Array(layout.size);
  initParams(layout, params, rng.next);
  const n = 11;
  const x = Float32Array.from({ length: n * 9 * 5 }, () => rng.normal());
  const dLogits = Float64Array.from({ length: n }, () => rng.normal() / n);

  it('two parts with `first` give the whole batch’s logits (same dropout masks) and gradient', () => {
    const whole = new TcnWorkspace(layout, n);
    const logits = whole.forward(x, n, params, 0.3, 77).slice();
    const grad = new Float64Array(layout.size);
    whole.backward(dLogits, n, params, grad);

    const part = new TcnWorkspace(layout, 6);
    const sum = new Float64Array(layout.size);
    for (const [first, count] of [
      [0, 6],
      [6, 5],
    ] as const) {
      const out = part.forward(x.subarray(first * 45), count, params, 0.3, 77, first);
      expect(Array.from(out.subarray(0, count))).toEqual(Array.from(logits.subarray(first, first + count)));
      part.backward(dLogits.subarray(first), count, params, sum);
    }
    for (let i = 0; i < layout.size; i++) expect(sum[i]).toBeCloseTo(grad[i]!, 12);
    // Another seed draws other masks; no seed, none.
    expect(whole.forward(x, n, params, 0.3, 78)[0]).not.toBe(logits[0]);
    expect(whole.forward(x, n, params, 0.3)[0]).toBe(whole.forward(x, n, params, 0)[0]);
  });

  it('drops about `dropout` of the values', () => {
    for (const rate of [0.1, 0.5]) {
      let dropped = 0;
      const count = 200_000;
      for (let i = 0; i < count; i++) if (!dropoutKeep(12345, i, rate)) dropped++;
      expect(Math.abs(dropped / count - rate)).toBeLessThan(0.005);
    }
  });
});

describe('WebAssembly kernels', () => {
  // hidden 32: whole four-channel blocks; hidden 5, 7 features: ragged channels, odd depth and odd counts.
  for (const [features, hidden] of [
    [20, 32],
    [7, 5],
  ] as const) {
    it(`give bit-identical logits and gradients to the TypeScript kernels (d ${features}, H ${hidden})`, () => {
      const layout = tcnLayout({ features, steps: 14, blocks: 3, kernelSize: 3, hidden });
      const rng = createRng(8);
      const params = new Float32Array(layout.size);
      initParams(layout, params, rng.next);
      for (let i = 0; i < params.length; i++) params[i] = params[i]! + 0.05 * rng.normal();
      const n = 37;
      const x = Float32Array.from({ length: n * 14 * features }, () => rng.normal());
      const dLogits = Float64Array.from({ length: n }, () => rng.normal() / n);
      const run = (kernels: 'auto' | 'ts') => {
        const ws = new TcnWorkspace(layout, n, kernels);
        const logits = ws.forward(x, n, params, 0.2, 3).slice();
        const grad = new Float64Array(layout.size);
        ws.backward(dLogits, n, params, grad);
        return { wasm: ws.wasm, logits, grad };
      };
      const wasm = run('auto');
      const ts = run('ts');
      expect(wasm.wasm).toBe(true);
      expect(ts.wasm).toBe(false);
      expect(Buffer.from(wasm.logits.buffer).equals(Buffer.from(ts.logits.buffer))).toBe(true);
      expect(Buffer.from(wasm.grad.buffer).equals(Buffer.from(ts.grad.buffer))).toBe(true);
    });
  }
});

/** Every step of every layer, straight from the formula in tcn-model.ts (no cone), no dropout. */
function fullLogits(layout: ReturnType<typeof tcnLayout>, params: Float64Array, x: Float64Array, n: number) {
  const { steps: T, hidden: H, features: d } = layout.shape;
  const conv = (input: Float64Array, cin: number, c: ConvSlot) => {
    const out = new Float64Array(n * T * c.cout);
    for (let s = 0; s < n; s++)
      for (let t = 0; t < T; t++)
        for (let o = 0; o < c.cout; o++) {
          let acc = params[c.b + o]!;
          for (let j = 0; j < c.k; j++) {
            const u = t - (c.k - 1 - j) * c.dilation;
            if (u < 0) continue;
            for (let i = 0; i < cin; i++)
              acc += params[c.w + (o * c.k + j) * cin + i]! * input[(s * T + u) * cin + i]!;
          }
          out[(s * T + t) * c.cout + o] = acc;
        }
    return out;
  };
  const relu = (a: Float64Array) => a.map((v) => Math.max(v, 0));
  let h = x;
  let cin = d;
  for (const block of layout.blocks) {
    const inner = relu(conv(relu(conv(h, cin, block.conv1)), H, block.conv2));
    const res = block.residual ? conv(h, cin, block.residual) : h;
    h = relu(inner.map((v, i) => v + res[i]!));
    cin = H;
  }
  return Float64Array.from({ length: n }, (_, s) => {
    let z = params[layout.headB]!;
    for (let k = 0; k < H; k++) z += params[layout.headW + k]! * h[(s * T + T - 1) * H + k]!;
    return z;
  });
}

describe('the receptive-field cone', () => {
  // L = 14: the cone is part of every block; L = 40: block 0 also skips the oldest steps.
  for (const steps of [14, 40]) {
    it(`gives the full computation's logits (L ${steps}, K 3, dilations 1, 2, 4)`, () => {
      const layout = tcnLayout({ features: 6, steps, blocks: 3, kernelSize: 3, hidden: 8 });
      const rng = createRng(21);
      const params = new Float64Array(layout.size);
      initParams(layout, params, rng.next);
      for (let i = 0; i < params.length; i++) params[i] = params[i]! + 0.05 * rng.normal();
      const n = 9;
      const x = Float64Array.from({ length: n * steps * 6 }, () => rng.normal());
      const ours = new TcnWorkspace(layout, n).forward(x, n, params);
      const full = fullLogits(layout, params, x, n);
      for (let s = 0; s < n; s++) expect(ours[s]).toBeCloseTo(full[s]!, 12);
      const cones = tcnCone(layout);
      // Steps computed per block: conv1's and the output's (of `steps` each without the cone).
      expect(cones.map((c) => [c.inner.length, c.output.length])).toEqual(
        steps === 14
          ? [
              [14, 7],
              [7, 4],
              [3, 1],
            ]
          : [
              [27, 13],
              [11, 5],
              [3, 1],
            ],
      );
    });
  }
});
