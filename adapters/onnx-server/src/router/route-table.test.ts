import { isVigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { hashRouteKey } from './route-key-hash.js';
import { ROUTE_HISTORY_LIMIT, RouteTable } from './route-table.js';

const loaded =
  (...versions: string[]) =>
  (v: string) =>
    versions.includes(v);
const all = loaded('v1', 'v2', 'v3');

function share(table: RouteTable, calls: number, key?: (i: number) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < calls; i++) {
    const v = table.pick('m', key?.(i)) ?? 'none';
    counts[v] = (counts[v] ?? 0) + 1 / calls;
  }
  return counts;
}

function routeError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isVigilError(error, 'VIGIL_SERVER_INVALID_ROUTE')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected VIGIL_SERVER_INVALID_ROUTE');
}

describe('RouteTable', () => {
  it('splits by weight / Σ weights with a seeded RNG, reproducibly', () => {
    const a = new RouteTable(3);
    a.set(
      'm',
      {
        candidates: [
          { version: 'v1', weight: 6 },
          { version: 'v2', weight: 3 },
          { version: 'v3', weight: 1 },
        ],
      },
      all,
    );
    const counts = share(a, 20_000);
    expect(counts.v1).toBeCloseTo(0.6, 1);
    expect(counts.v2).toBeCloseTo(0.3, 1);
    expect(counts.v3).toBeCloseTo(0.1, 1);
    const b = new RouteTable(3);
    const c = new RouteTable(4);
    const spec = {
      candidates: [
        { version: 'v1', weight: 1 },
        { version: 'v2', weight: 1 },
      ],
    };
    b.set('m', spec, all);
    c.set('m', spec, all);
    const d = new RouteTable(3);
    d.set('m', spec, all);
    const seq = (t: RouteTable) => Array.from({ length: 64 }, () => t.pick('m')).join();
    expect(seq(b)).toBe(seq(d));
    expect(seq(b)).not.toBe(seq(c));
  });

  it('never picks a zero-weight candidate, first or last', () => {
    const t = new RouteTable(1);
    t.set(
      'm',
      {
        candidates: [
          { version: 'v1', weight: 0 },
          { version: 'v2', weight: 2 },
          { version: 'v3', weight: 0 },
        ],
      },
      all,
    );
    expect(share(t, 2000)).toEqual({ v2: expect.closeTo(1, 6) });
  });

  it('hashes a route key to a fixed version; keys spread by weight', () => {
    const t = new RouteTable(1);
    t.set(
      'm',
      {
        candidates: [
          { version: 'v1', weight: 75 },
          { version: 'v2', weight: 25 },
        ],
      },
      all,
    );
    for (let k = 0; k < 50; k++) {
      const first = t.pick('m', `key-${k}`);
      for (let i = 0; i < 5; i++) expect(t.pick('m', `key-${k}`)).toBe(first);
    }
    expect(share(t, 4000, (i) => `patient-${i}`).v2).toBeCloseTo(0.25, 1);
    // Growing the canary moves keys only from v1 to v2, never back.
    const before = Array.from({ length: 500 }, (_, i) => t.pick('m', `k${i}`));
    t.set(
      'm',
      {
        candidates: [
          { version: 'v1', weight: 50 },
          { version: 'v2', weight: 50 },
        ],
      },
      all,
    );
    before.forEach((v, i) => {
      if (v === 'v2') expect(t.pick('m', `k${i}`)).toBe('v2');
    });
    expect(hashRouteKey('a')).not.toBe(hashRouteKey('b'));
  });

  it('mirrors about percent/100 of the requests', () => {
    const t = new RouteTable(5);
    t.set('m', { candidates: [{ version: 'v1', weight: 1 }], mirror: { version: 'v2', percent: 30 } }, all);
    let mirrored = 0;
    for (let i = 0; i < 10_000; i++) if (t.mirror('m') === 'v2') mirrored++;
    expect(mirrored / 10_000).toBeCloseTo(0.3, 1);
    t.set('m', { candidates: [{ version: 'v1', weight: 1 }], mirror: { version: 'v2', percent: 0 } }, all);
    expect(t.mirror('m')).toBeUndefined();
    expect(new RouteTable(1).mirror('m')).toBeUndefined();
  });

  it('keeps a history for rollback, bounded, and checks versions are still loaded', () => {
    const t = new RouteTable(1);
    expect(routeError(() => t.rollback('m', all))).toMatch(/no previous route/);
    const a = { candidates: [{ version: 'v1', weight: 1 }] };
    const b = { candidates: [{ version: 'v2', weight: 1 }], mirror: { version: 'v3', percent: 5 } };
    t.set('m', a, all);
    t.set('m', b, all);
    expect(t.uses('m', 'v3')).toBe(true);
    expect(t.uses('m', 'v1')).toBe(false);
    expect(routeError(() => t.rollback('m', loaded('v2', 'v3')))).toMatch(/no longer loaded: v1/);
    expect(t.get('m')).toEqual(b);
    expect(t.rollback('m', all)).toEqual(a);
    expect(t.get('m')).toEqual(a);
    expect(() => t.rollback('m', all)).toThrow(/no previous route/);
    for (let i = 0; i < ROUTE_HISTORY_LIMIT + 10; i++) t.set('m', a, all);
    let rollbacks = 0;
    while (rollbacks < ROUTE_HISTORY_LIMIT + 10) {
      try {
        t.rollback('m', all);
        rollbacks++;
      } catch {
        break;
      }
    }
    expect(rollbacks).toBe(ROUTE_HISTORY_LIMIT - 1);
  });

  it('returns copies: mutating a spec after set or get changes nothing', () => {
    const t = new RouteTable(1);
    const spec = { candidates: [{ version: 'v1', weight: 1 }] };
    t.set('m', spec, all);
    spec.candidates[0]!.version = 'v9';
    t.get('m')!.candidates[0]!.weight = 0;
    expect(t.get('m')).toEqual({ candidates: [{ version: 'v1', weight: 1 }] });
    expect(t.pick('m')).toBe('v1');
  });

  it('rejects invalid specs with messages naming the field', () => {
    const t = new RouteTable(1);
    const set = (spec: unknown) => routeError(() => t.set('m', spec as never, loaded('v1', 'v2')));
    expect(set({ candidates: [] })).toMatch(/spec\.candidates must be a non-empty array/);
    expect(set({})).toMatch(/spec\.candidates/);
    expect(set({ candidates: [{ version: 'v7', weight: 1 }] })).toMatch(
      /candidates\[0\]\.version: version 'v7' is not loaded/,
    );
    expect(
      set({
        candidates: [
          { version: 'v1', weight: 1 },
          { version: 'v1', weight: 1 },
        ],
      }),
    ).toMatch(/listed twice/);
    expect(set({ candidates: [{ version: 'v1', weight: Number.NaN }] })).toMatch(/candidates\[0\]\.weight/);
    expect(set({ candidates: [{ version: 'v1', weight: '3' }] })).toMatch(/candidates\[0\]\.weight/);
    expect(set({ candidates: [{ version: 'v1', weight: 0 }] })).toMatch(/positive sum/);
    expect(
      set({ candidates: [{ version: 'v1', weight: 1 }], mirror: { version: 'v2', percent: -1 } }),
    ).toMatch(/mirror\.percent/);
    expect(
      set({ candidates: [{ version: 'v1', weight: 1 }], mirror: { version: 'v5', percent: 1 } }),
    ).toMatch(/mirror\.version: version 'v5'/);
    expect(t.get('m')).toBeUndefined();
  });
});
