import { describe, expect, it } from 'vitest';
import { LatencyRing } from './latency-ring.js';

/** Nearest-rank quantile straight from its definition, over a plain array. */
function nearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('LatencyRing', () => {
  it('is empty at first and rejects a bad capacity', () => {
    expect(new LatencyRing(4).quantile(0.5)).toBeNull();
    expect(() => new LatencyRing(0)).toThrow(/capacity/);
  });

  it('holds only the last N values and matches nearest-rank quantiles of them', () => {
    const ring = new LatencyRing(100);
    const all: number[] = [];
    for (let i = 0; i < 250; i++) {
      const v = ((i * 37) % 101) + (i >= 150 ? 1000 : 0);
      all.push(v);
      ring.add(v);
    }
    const last = all.slice(-100);
    expect(ring.size).toBe(100);
    for (const q of [0.01, 0.5, 0.9, 0.99, 1]) expect(ring.quantile(q)).toBe(nearestRank(last, q));
    // Every held value is one of the last 100 (the first 150 were all < 1000).
    expect(ring.quantile(0.01)).toBeGreaterThanOrEqual(1000);
  });

  it('rounds the rank up when q × n is not whole (nearest rank)', () => {
    const ring = new LatencyRing(16);
    for (const v of [70, 10, 50, 30, 60, 20, 40]) ring.add(v);
    expect(ring.quantile(0.5)).toBe(40); // rank ⌈3.5⌉ = 4 of 10..70
    expect(ring.quantile(0.99)).toBe(70);
    expect(ring.quantile(0)).toBe(10);
  });

  it('p50 and p99 of 1..100 are 50 and 99', () => {
    const ring = new LatencyRing(1000);
    for (let i = 100; i >= 1; i--) ring.add(i);
    expect(ring.quantile(0.5)).toBe(50);
    expect(ring.quantile(0.99)).toBe(99);
  });
});
