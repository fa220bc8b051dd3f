import { createRng, type TrainingSet } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { NodeTrainer } from '../node-trainer.js';
import { syntheticSet } from '../testing/synthetic-set.js';
import { RunControl } from '../training/run-control.js';
import { cartRules } from './cart-rules.js';
import { trainCart } from './train-cart.js';

const trainer = new NodeTrainer();
const control = () => new RunControl({ signals: [], yieldIntervalMs: 1000 });

/** Lab-style data: high risk when alt > 120 and the last lab is at most 3 days old. */
function labSet(seed: number, rows: number): TrainingSet {
  const rng = createRng(seed);
  const x = new Float32Array(rows * 3);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const alt = 20 + rng.int(181); // 20..200
    const days = rng.int(11); // 0..10
    const noise = rng.normal();
    x.set([alt, days, noise], r * 3);
    const risky = alt > 120 && days <= 3;
    y[r] = rng.next() < (risky ? 0.85 : 0.05) ? 1 : 0;
  }
  return {
    featureNames: ['alt', 'days_since_lab', 'noise'],
    x,
    y,
    groups: Array.from({ length: rows }, (_, r) => `p${r}`),
    lineage: { lakeCommit: 'test', featureViews: [] },
  };
}

describe('cart', () => {
  it('finds the rule that generated the data and prints it in plain language', async () => {
    const data = labSet(1, 3000);
    const tree = await trainCart(
      data,
      { maxDepth: 2, minSamplesLeaf: 20, minImpurityDecrease: 0, criterion: 'gini', calibration: 'none' },
      control(),
    );
    const rules = cartRules(tree, data.featureNames);
    expect(rules).toHaveLength(4);
    expect(rules.reduce((sum, r) => sum + r.n, 0)).toBe(3000);
    const risky = rules.reduce((a, b) => (b.risk > a.risk ? b : a));
    expect(risky.risk).toBeGreaterThan(0.75);
    // alt ≤ 120 is the larger side, so an unseen missing alt goes there, not to this rule;
    // days ≤ 3 is the smaller side, so a missing days_since_lab goes right too.
    expect([
      `IF alt > 120 AND days_since_lab ≤ 3 THEN risk ${risky.risk.toFixed(2)} (n=${risky.n})`,
      `IF days_since_lab ≤ 3 AND alt > 120 THEN risk ${risky.risk.toFixed(2)} (n=${risky.n})`,
    ]).toContain(risky.text);
    for (const rule of rules) expect(rule.text).toMatch(/^IF .+ THEN risk \d\.\d\d \(n=\d+\)$/);
    // Some rule carries the missing values of each feature.
    expect(rules.some((r) => r.text.includes('or alt is missing'))).toBe(true);
    expect(rules.some((r) => r.text.includes('or days_since_lab is missing'))).toBe(true);
  });

  it('rules read from the artifact match the tree, and use the calibrated risk when calibrated', async () => {
    const data = labSet(2, 2000);
    const validation = labSet(3, 1000);
    const params = { maxDepth: 3, minSamplesLeaf: 30 };
    const plain = await trainer.train(data, { algorithm: 'cart', params, seed: 1 });
    const tree = await trainCart(
      data,
      { ...params, minImpurityDecrease: 0, criterion: 'gini', calibration: 'none' },
      control(),
    );
    const fromTree = cartRules(tree, data.featureNames);
    const fromArtifact = cartRules(plain.artifact);
    expect(fromArtifact.map((r) => r.text)).toEqual(fromTree.map((r) => r.text));
    expect(fromArtifact.map((r) => r.n)).toEqual(fromTree.map((r) => r.n));
    // The served risk of a leaf is what predict gives a row in it.
    const rows = data.y.length;
    const scores = await trainer.predict(plain.artifact, data.x, rows);
    const leafRisks = new Set(fromArtifact.map((r) => Math.fround(r.risk)));
    for (const s of scores) expect(leafRisks.has(s)).toBe(true);

    const calibrated = await trainer.train(
      data,
      { algorithm: 'cart', params: { ...params, calibration: 'isotonic' }, seed: 1 },
      { validation },
    );
    const served = await trainer.predict(calibrated.artifact, data.x, rows);
    const calibratedRisks = new Set(cartRules(calibrated.artifact).map((r) => Math.fround(r.risk)));
    for (const s of served) expect(calibratedRisks.has(s)).toBe(true);
  });

  it('learns a direction for missing values at each split', async () => {
    // Missingness itself is the signal: rows with f0 missing are positive.
    const base = syntheticSet(41, 1000, 3, () => false);
    for (let r = 0; r < 1000; r++) {
      const missing = r % 3 === 0;
      if (missing) base.x[r * 3] = Number.NaN;
      base.y[r] = missing ? 1 : 0;
    }
    const { artifact } = await trainer.train(base, { algorithm: 'cart', params: {}, seed: 1 });
    const scores = await trainer.predict(artifact, new Float32Array([Number.NaN, 0, 0, 0.5, 0, 0]), 2);
    expect(scores[0]).toBe(1);
    expect(scores[1]).toBe(0);
    expect(cartRules(artifact).map((r) => r.text)).toEqual([
      `IF f0 is present THEN risk 0.00 (n=666)`,
      `IF f0 is missing THEN risk 1.00 (n=334)`,
    ]);

    // Missing values mixed with a value signal: they join the side whose rate they share.
    const mixed = syntheticSet(42, 2000, 2, (r) => r[0]! > 0.5);
    for (let r = 0; r < 2000; r += 4) {
      mixed.x[r * 2] = Number.NaN;
      mixed.y[r] = 1;
    }
    const m = await trainer.train(mixed, { algorithm: 'cart', params: { maxDepth: 1 }, seed: 1 });
    const texts = cartRules(m.artifact).map((r) => r.text);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/^IF f0 ≤ 0\.\d+ THEN risk 0\.\d\d \(n=\d+\)$/);
    expect(texts[1]).toMatch(/^IF \(f0 > 0\.\d+ or f0 is missing\) THEN risk (0\.9\d|1\.00) \(n=\d+\)$/);
    const [low, high] = cartRules(m.artifact);
    expect(low!.conditions[0]).toMatchObject({ feature: 'f0', missing: false });
    expect(high!.conditions[0]).toMatchObject({ feature: 'f0', missing: true });
    expect(high!.risk).toBeGreaterThan(0.9);
  });

  it('keeps depth ≤ 4 (and refuses more), and every leaf ≥ minSamplesLeaf rows', async () => {
    const data = syntheticSet(51, 3000, 6, (r, rng) => r[0]! * r[1]! + r[2]! + 0.5 * rng.normal() > 0, {
      nanRate: 0.1,
    });
    const result = await trainer.train(data, { algorithm: 'cart', params: { minSamplesLeaf: 40 }, seed: 1 });
    expect(result.params).toEqual({
      maxDepth: 4,
      minSamplesLeaf: 40,
      minImpurityDecrease: 0,
      criterion: 'gini',
      calibration: 'none',
    });
    expect(result.metrics.depth).toBe(4);
    expect(result.metrics.n_leaves).toBeLessThanOrEqual(16);
    const rules = cartRules(result.artifact);
    expect(rules.length).toBe(result.metrics.n_leaves);
    for (const r of rules) expect(r.n).toBeGreaterThanOrEqual(40);
    await expect(
      trainer.train(data, { algorithm: 'cart', params: { maxDepth: 5 }, seed: 1 }),
    ).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_INVALID_SPEC',
      message: expect.stringMatching(/maxDepth.*<= 4/),
    });
    await expect(
      trainer.train(data, { algorithm: 'cart', params: { criterion: 'entropy' }, seed: 1 }),
    ).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_INVALID_SPEC',
      message: expect.stringMatching(/criterion.*'gini', 'log_loss'/),
    });
    // A large minImpurityDecrease keeps the tree small.
    const stump = await trainer.train(data, {
      algorithm: 'cart',
      params: { minImpurityDecrease: 0.05 },
      seed: 1,
    });
    expect(stump.metrics.n_leaves).toBeLessThan(result.metrics.n_leaves!);
  });

  it('gives the same ONNX bytes for the same data and params; the seed changes nothing (no randomness)', async () => {
    const data = syntheticSet(61, 1500, 5, (r) => r[0]! + r[1]! > 0, { nanRate: 0.2 });
    const copy = (s: TrainingSet): TrainingSet => ({
      ...s,
      x: Float32Array.from(s.x),
      y: Uint8Array.from(s.y),
    });
    for (const criterion of ['gini', 'log_loss']) {
      const a = await trainer.train(copy(data), { algorithm: 'cart', params: { criterion }, seed: 1 });
      const b = await trainer.train(copy(data), { algorithm: 'cart', params: { criterion }, seed: 1 });
      const c = await trainer.train(copy(data), { algorithm: 'cart', params: { criterion }, seed: 99 });
      expect(Buffer.from(a.artifact.bytes).equals(Buffer.from(b.artifact.bytes))).toBe(true);
      expect(c.artifact.sha256).toBe(a.artifact.sha256);
    }
  });
});
