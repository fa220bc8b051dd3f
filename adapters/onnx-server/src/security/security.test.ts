import { describe, expect, it } from 'vitest';
import { ApiKeys, presentedKey, roleAllows } from './api-keys.js';
import { RateLimiter } from './rate-limiter.js';

describe('ApiKeys', () => {
  const keys = new ApiKeys([
    { name: 'app', key: 'k-predict-0123456789', role: 'predict' },
    { name: 'ops', key: 'k-operate-0123456789', role: 'operate' },
  ]);

  it('finds a key by its exact value only', () => {
    expect(keys.enabled).toBe(true);
    expect(keys.find('k-predict-0123456789')).toEqual({ name: 'app', role: 'predict' });
    expect(keys.find('k-operate-0123456789')).toEqual({ name: 'ops', role: 'operate' });
    expect(keys.find('k-predict-012345678')).toBeUndefined();
    expect(keys.find('k-predict-0123456789 ')).toBeUndefined();
    expect(keys.find('')).toBeUndefined();
    expect(new ApiKeys([]).enabled).toBe(false);
  });

  it('orders roles predict < operate < admin', () => {
    expect(roleAllows('predict', 'predict')).toBe(true);
    expect(roleAllows('predict', 'operate')).toBe(false);
    expect(roleAllows('operate', 'predict')).toBe(true);
    expect(roleAllows('operate', 'admin')).toBe(false);
    expect(roleAllows('admin', 'operate')).toBe(true);
  });

  it('reads Bearer tokens and x-api-key, and flags other Authorization schemes', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toEqual({ key: 'abc' });
    expect(presentedKey({ authorization: 'bearer  abc' })).toEqual({ key: 'abc' });
    expect(presentedKey({ authorization: 'Basic YWJj' })).toEqual({ malformed: true });
    expect(presentedKey({ authorization: 'Bearer' })).toEqual({ malformed: true });
    expect(presentedKey({ 'x-api-key': 'xyz' })).toEqual({ key: 'xyz' });
    expect(presentedKey({})).toEqual({});
  });
});

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
