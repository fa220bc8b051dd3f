import { describe, expect, it } from 'vitest';
import { type Decision, RungScheduler, rungResources } from './rung-scheduler.js';

/** Runs a scheduler to the end, one job at a time, scoring trial t at rung r with score(t, r). */
function drive(s: RungScheduler, score: (trial: number, rung: number) => number | null) {
  const log: Decision[] = [];
  for (let d = s.next(); d; d = s.next()) {
    log.push(d);
    s.report(d.trial, d.rung, score(d.trial, d.rung));
  }
  return log;
}

describe('rung resources', () => {
  it('are min·eta^k below max, then max', () => {
    expect(rungResources({ min: 25, max: 400, eta: 3 })).toEqual([25, 75, 225, 400]);
    expect(rungResources({ min: 10, max: 90, eta: 3 })).toEqual([10, 30, 90]);
    expect(rungResources({ min: 1, max: 16, eta: 2 })).toEqual([1, 2, 4, 8, 16]);
    expect(rungResources({ min: 50, max: 50, eta: 3 })).toEqual([50]);
  });
});

describe('RungScheduler', () => {
  it('none: every trial once at the full resource', () => {
    const s = new RungScheduler('none', 5, { min: 10, max: 90, eta: 3 });
    const log = drive(s, (t) => t / 10);
    expect(log.map((d) => [d.kind, d.trial, d.rung])).toEqual([0, 1, 2, 3, 4].map((t) => ['new', t, 0]));
    expect(s.resources).toEqual([90]);
  });

  it('halving: all trials at rung 0, then the best ⌊n/eta⌋ of each full rung go up (6 → 2 → 1)', () => {
    const s = new RungScheduler('halving', 6, { min: 10, max: 90, eta: 3 });
    // trial quality: 4 > 1 > 5 > 0 > 3 > 2
    const quality = [0.6, 0.8, 0.5, 0.55, 0.9, 0.7];
    const log = drive(s, (t, r) => quality[t]! + r * 0.01);
    expect(log.filter((d) => d.kind === 'new')).toHaveLength(6);
    expect(log.filter((d) => d.kind === 'promote').map((d) => [d.trial, d.rung])).toEqual([
      [4, 1],
      [1, 1],
      [4, 2],
    ]);
  });

  it('halving waits for the whole rung before promoting', () => {
    const s = new RungScheduler('halving', 3, { min: 1, max: 9, eta: 3 });
    const a = s.next()!;
    const b = s.next()!;
    const c = s.next()!;
    expect([a.kind, b.kind, c.kind]).toEqual(['new', 'new', 'new']);
    s.report(a.trial, 0, 0.9);
    s.report(b.trial, 0, 0.1);
    expect(s.next()).toBeNull(); // trial 2 still running at rung 0
    s.report(c.trial, 0, 0.5);
    expect(s.next()).toEqual({ kind: 'promote', trial: 0, bracket: 0, rung: 1 });
  });

  it('asha: a trial goes up as soon as it is in the top 1/eta of its finished rung', () => {
    const s = new RungScheduler('asha', 20, { min: 1, max: 9, eta: 3 });
    const scores = [0.5, 0.9, 0.6, 0.4, 0.95, 0.3];
    const start = (n: number) => {
      for (let i = 0; i < n; i++) {
        const d = s.next()!;
        expect(d.kind).toBe('new');
        s.report(d.trial, d.rung, scores[d.trial]!);
      }
    };
    start(2);
    // 2 finished at rung 0: ⌊2/3⌋ = 0 promotable → a new trial
    start(1);
    // 3 finished: the best (trial 1) goes to rung 1
    expect(s.next()).toEqual({ kind: 'promote', trial: 1, bracket: 0, rung: 1 });
    s.report(1, 1, 0.91);
    start(2);
    // 5 finished at rung 0: the top one is now trial 4, not yet promoted: it goes up at once
    expect(s.next()).toEqual({ kind: 'promote', trial: 4, bracket: 0, rung: 1 });
    s.report(4, 1, 0.96);
    start(1);
    // 6 finished at rung 0, top 2 (4 and 1) both promoted; 2 finished at rung 1: ⌊2/3⌋ = 0 → new
    expect(s.next()).toEqual({ kind: 'new', trial: 6, bracket: 0, rung: 0 });
  });

  it('asha: looks for promotions from the top rung down, then starts new trials until the budget is spent', () => {
    const s = new RungScheduler('asha', 27, { min: 1, max: 27, eta: 3 });
    const log = drive(s, (t, r) => ((t * 7919) % 101) / 100 + r / 1000);
    const news = log.filter((d) => d.kind === 'new');
    expect(news).toHaveLength(27);
    const at = (rung: number) => log.filter((d) => d.rung === rung).length;
    // 27 at rung 0; about 9, 3 and 1 above (asynchronous: early promotions can add a few)
    expect(at(0)).toBe(27);
    expect(at(1)).toBeGreaterThanOrEqual(9);
    expect(at(1)).toBeLessThanOrEqual(13);
    expect(at(3)).toBeGreaterThanOrEqual(1);
    // every promotion was, when made, in the top 1/eta of its rung's finished trials
    const finished = new Map<number, Map<number, number>>();
    const score = (t: number, r: number) => ((t * 7919) % 101) / 100 + r / 1000;
    for (const d of log) {
      if (d.kind === 'promote') {
        const below = [...(finished.get(d.rung - 1) ?? new Map<number, number>())].sort(
          (a, b) => b[1] - a[1] || a[0] - b[0],
        );
        const top = below.slice(0, Math.floor(below.length / 3)).map(([t]) => t);
        expect(top).toContain(d.trial);
      }
      const m = finished.get(d.rung) ?? new Map<number, number>();
      m.set(d.trial, score(d.trial, d.rung));
      finished.set(d.rung, m);
    }
  });

  it('asha with fewer trials than eta still measures the winner at the full resource', () => {
    const s = new RungScheduler('asha', 2, { min: 10, max: 90, eta: 3 });
    const log = drive(s, (t) => (t === 1 ? 0.8 : 0.6));
    expect(log.map((d) => [d.kind, d.trial, d.rung])).toEqual([
      ['new', 0, 0],
      ['new', 1, 0],
      ['promote', 1, 1],
      ['promote', 1, 2],
    ]);
  });

  it('hyperband: brackets start one rung higher each, trials dealt in proportion to n_b, promotions within a bracket', () => {
    const s = new RungScheduler('hyperband', 49, { min: 1, max: 27, eta: 3 });
    expect(s.brackets).toEqual([0, 1, 2, 3]);
    const log = drive(s, (t, r) => ((t * 31) % 17) / 17 + r / 1000);
    const news = log.filter((d) => d.kind === 'new');
    const perBracket = [0, 1, 2, 3].map((b) => news.filter((d) => d.bracket === b).length);
    // n_b = ⌈4/(4−b)·3^(3−b)⌉ = 27, 12, 6, 4 (sum 49)
    expect(perBracket).toEqual([27, 12, 6, 4]);
    for (const d of news) expect(d.rung).toBe(d.bracket);
    // bracket 3 starts at the last rung: never promoted
    expect(log.filter((d) => d.kind === 'promote' && d.bracket === 3)).toHaveLength(0);
    // trials are dealt evenly, not in blocks: the first 10 touch every bracket but the last
    expect(new Set(news.slice(0, 10).map((d) => d.bracket)).size).toBeGreaterThanOrEqual(3);
  });

  it('refuses a report for a job it did not start', () => {
    const s = new RungScheduler('asha', 3, { min: 1, max: 9, eta: 3 });
    expect(() => s.report(0, 0, 0.5)).toThrow(/not running/);
  });
});
