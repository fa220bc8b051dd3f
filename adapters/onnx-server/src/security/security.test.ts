import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate, per client', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBeCloseTo(0.5, 9); // one token every 500 ms
    expect(limiter.take('b')).toBe(0); // another client has its own bucket
    now = 499;
    expect(limiter.take('a')).toBeGreaterThan(0);
    now = 1000;
    expect(limiter.take('a')).toBe(0);
    now = 100_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a') > 0]).toEqual([
      0,
      0,
      0,
      true,
    ]);
  });

  it('keeps the client table bounded', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, now: () => now, maxClients: 10 });
    for (let i = 0; i < 1000; i++) {
      now += 1;
      limiter.take(`c${i}`);
    }
    expect(limiter.clients).toBeLessThanOrEqual(10);
    // The last client is still tracked: it spent its only token.
    expect(limiter.take('c999')).toBeGreaterThan(0);
  });
});
