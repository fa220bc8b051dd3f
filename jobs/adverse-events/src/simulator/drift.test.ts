import { createHash } from 'node:crypto';
import { auroc, isVigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { jobConfigSchema } from '../config.js';
import type { DriftInput } from './drift.js';
import {
  FIRST_PREDICTION_DAY,
  type OraclePoints,
  patientId,
  type SimulatedEvent,
  type SimulationOptions,
  type SimulationResult,
  simulateTrial,
} from './simulate-trial.js';

const START = Date.UTC(2026, 0, 5);
const DAY_MS = 86_400_000;
// No malformed payloads, so every event of both runs can be parsed and compared field by field.
const trial = { seed: 3, patients: 240, days: 60, sites: 4, mess: { malformedRate: 0 } };

type Parsed = Record<string, unknown> & {
  kind: string;
  patientId: string;
  siteId: string;
  observedAt: string;
};
const parse = (e: SimulatedEvent): Parsed => JSON.parse(e.value) as Parsed;
const dayOf = (o: Parsed): number => Math.floor((Date.parse(o.observedAt) - START) / DAY_MS);
const hash = (sim: SimulationResult): string =>
  createHash('sha256')
    .update(JSON.stringify([sim.events, sim.oracle, sim.stats, sim.injected]))
    .digest('hex');
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const run = (options: SimulationOptions, drift?: DriftInput[]) =>
  simulateTrial(drift ? { ...options, drift } : options);

/** Oracle point index by `patient/day` (a patient's points are consecutive days from FIRST_PREDICTION_DAY after enrolment). */
function pointIndex(points: OraclePoints): Map<string, number> {
  const out = new Map<string, number>();
  let last = '';
  let day = 0;
  points.patients.forEach((p, i) => {
    day = p === last ? day + 1 : FIRST_PREDICTION_DAY;
    last = p;
    out.set(`${p}/${day}`, i);
  });
  return out;
}

/** Whether `sub` is a subsequence of `all`; returns what `all` has besides it. */
function rest(all: readonly SimulatedEvent[], sub: readonly SimulatedEvent[]): SimulatedEvent[] | null {
  const extra: SimulatedEvent[] = [];
  let j = 0;
  for (const e of all) {
    const s = sub[j];
    if (s && s.value === e.value && s.topic === e.topic && s.key === e.key) j++;
    else extra.push(e);
  }
  return j === sub.length ? extra : null;
}

describe('simulateTrial drift', () => {
  it('leaves a trial without drift exactly as it was', () => {
    const small = { seed: 7, patients: 60, days: 30, sites: 4 };
    const pinned = 'b7bc82eefacd3355ea5f6604cbdc723a5782efbe94ef4f93ab569250ac474f4b';
    for (const sim of [simulateTrial(small), simulateTrial({ ...small, drift: [] })]) {
      expect(createHash('sha256').update(JSON.stringify(sim.events)).digest('hex')).toBe(pinned);
    }
    expect(hash(run(trial, []))).toBe(hash(run(trial)));
  });

  it('measurement drift changes the recorded values of its measure from its day on at its sites, not the truth', () => {
    const before = run(trial);
    const after = run(trial, [
      { kind: 'measurement', fromDay: 30, sites: ['site-02'], measure: 'alt', scale: 1.4 },
      { kind: 'measurement', fromDay: 20, measure: 'temperature', shift: 0.5 },
    ]);
    expect(after.events.length).toBe(before.events.length);
    const changed = { alt: 0, temperature: 0 };
    const eligible = { alt: 0, temperature: 0 };
    before.events.forEach((e, i) => {
      const a = parse(e);
      const b = parse(after.events[i]!);
      const altDrifted = a.measure === 'alt' && a.siteId === 'site-02' && dayOf(a) >= 30;
      const tempDrifted = a.measure === 'temperature' && dayOf(a) >= 20;
      if (altDrifted) eligible.alt++;
      if (tempDrifted) eligible.temperature++;
      if (after.events[i]!.value === e.value) return;
      // Only the value differs, and only as the drift says.
      expect({ ...b, value: a.value }).toEqual(a);
      const va = a.value as number;
      const vb = b.value as number;
      if (altDrifted) {
        changed.alt++;
        expect(Math.abs(vb - 1.4 * va)).toBeLessThan(0.13);
      } else if (tempDrifted) {
        changed.temperature++;
        const celsius = a.unit === '°F' ? ((vb - va) * 5) / 9 : vb - va;
        expect(Math.abs(celsius - 0.5)).toBeLessThan(0.12);
      } else {
        expect.unreachable(
          `event ${i} (${a.kind} ${String(a.measure)} at ${a.siteId}, day ${dayOf(a)}) changed`,
        );
      }
    });
    expect(eligible.alt).toBeGreaterThan(50);
    expect(changed.alt).toBeGreaterThan(0.95 * eligible.alt);
    expect(changed.temperature).toBeGreaterThan(0.95 * eligible.temperature);
    // The latent state and the outcomes do not move: the oracle and the adverse events are the same.
    expect(after.oracle).toEqual(before.oracle);
    expect(after.stats.adverseEvents).toBe(before.stats.adverseEvents);
    // Mean ALT at site-02 rises by 40 % after day 30 and not before.
    const altMean = (sim: SimulationResult, from: number, to: number) =>
      mean(
        sim.events
          .map(parse)
          .filter((o) => o.measure === 'alt' && o.siteId === 'site-02' && dayOf(o) >= from && dayOf(o) < to)
          .map((o) => o.value as number),
      );
    expect(altMean(after, 0, 30)).toBe(altMean(before, 0, 30));
    expect(altMean(after, 30, 60) / altMean(before, 30, 60)).toBeCloseTo(1.4, 2);
  });

  it('population drift enrols a cohort of shifted patients on its day at its sites, the others unchanged', () => {
    const before = run(trial);
    const cohort = { kind: 'population' as const, fromDay: 30, patients: 120, sites: ['site-01', 'site-03'] };
    const plain = run(trial, [cohort]);
    const after = run(trial, [{ ...cohort, ageShift: 10, susceptibilityShift: 1 }]);
    expect(after.stats.patients).toBe(360);
    // Every event of the trial without drift is still there, in order; the rest is the cohort's.
    const extra = rest(after.events, before.events);
    expect(extra).not.toBeNull();
    const cohortIds = new Set(Array.from({ length: 120 }, (_, k) => patientId(240 + k)));
    const events = extra!.map(parse);
    expect(events.length).toBeGreaterThan(120 * 30 * 5);
    for (const o of events) {
      expect(cohortIds.has(o.patientId)).toBe(true);
      expect(['site-01', 'site-03']).toContain(o.siteId);
      expect(dayOf(o)).toBeGreaterThanOrEqual(30);
    }
    const enrolments = (sim: SimulationResult) =>
      sim.events.map(parse).filter((o) => o.kind === 'enrolment' && cohortIds.has(o.patientId));
    expect(enrolments(after)).toHaveLength(120);
    expect(new Set(enrolments(after).map(dayOf))).toEqual(new Set([30]));
    expect(new Set(enrolments(after).map((o) => o.siteId))).toEqual(new Set(['site-01', 'site-03']));
    const n = before.oracle.labels.length;
    for (const sim of [plain, after]) {
      expect(sim.oracle.patients.slice(0, n)).toEqual(before.oracle.patients);
      expect(sim.oracle.bayes.slice(0, n)).toEqual(before.oracle.bayes);
      expect(sim.oracle.ceiling.slice(0, n)).toEqual(before.oracle.ceiling);
    }
    // The same cohort without the shifts, patient by patient: 10 years older …
    const age = new Map(enrolments(plain).map((o) => [o.patientId, o.age as number]));
    for (const o of enrolments(after)) expect(o.age).toBe(age.get(o.patientId)! + 10);
    // … and sicker: a higher true risk at every point both have, well above on average.
    const ip = pointIndex(plain.oracle);
    const shifted: number[] = [];
    const unshifted: number[] = [];
    for (const [key, i] of pointIndex(after.oracle)) {
      const j = ip.get(key);
      if (!cohortIds.has(key.split('/')[0]!) || j === undefined) continue;
      shifted.push(after.oracle.bayes[i]!);
      unshifted.push(plain.oracle.bayes[j]!);
    }
    expect(shifted.length).toBeGreaterThan(1000);
    shifted.forEach((p, k) => expect(p).toBeGreaterThan(unshifted[k]!));
    expect(mean(shifted)).toBeGreaterThan(1.3 * mean(unshifted));
  });

  describe('concept drift', () => {
    const big = { ...trial, seed: 5, patients: 400, days: 70 };
    // A new co-medication: more events, driven by inflammation rather than liver injury.
    const concept = {
      kind: 'concept',
      fromDay: 35,
      eventRateScale: 1.5,
      liverScale: 0.2,
      inflammationScale: 2.5,
    } as const;
    const before = run(big);
    const after = run(big, [concept]);

    it('leaves every event observed before its day, and the observations, unchanged', () => {
      const early = (sim: SimulationResult) => sim.events.filter((e) => dayOf(parse(e)) < 35);
      expect(early(after)).toEqual(early(before));
      // The latent state and what is observed of it do not change: patients with no adverse event
      // (grade ≥ 2) in either trial have exactly the same events.
      const severe = (sim: SimulationResult) =>
        new Set(
          sim.events
            .map(parse)
            .filter((o) => o.kind === 'adverse_event' && (o.grade as number) >= 2)
            .map((o) => o.patientId),
        );
      const struck = new Set([...severe(before), ...severe(after)]);
      const calm = (sim: SimulationResult) => sim.events.filter((e) => !struck.has(parse(e).patientId));
      expect(calm(after).length).toBeGreaterThan(0.3 * before.events.length);
      expect(calm(after)).toEqual(calm(before));
      // Every patient's events before the earlier of its two onsets are the same.
      const onsets = (sim: SimulationResult) =>
        new Map(
          sim.events
            .map(parse)
            .filter((o) => o.kind === 'adverse_event' && (o.grade as number) >= 2)
            .map((o) => [o.patientId, dayOf(o)]),
        );
      const [ob, oa] = [onsets(before), onsets(after)];
      const upToOnset = (sim: SimulationResult) =>
        sim.events.filter((e) => {
          const o = parse(e);
          return dayOf(o) < Math.min(ob.get(o.patientId) ?? 1e9, oa.get(o.patientId) ?? 1e9);
        });
      expect(upToOnset(after)).toEqual(upToOnset(before));
      // But the adverse events after its day do change.
      expect(after.stats.adverseEvents).not.toBe(before.stats.adverseEvents);
    });

    it('adds no lab visit before the onset a delayed adverse event had without drift', () => {
      // Weekly lab visits are scheduled up to the onset, each a day early to a day late; when the
      // drift delays an onset on a visit's week day, the visits after it must not land before it.
      const weaker = [{ kind: 'concept', fromDay: 35, liverScale: 0.2 }] as const;
      const severe = (sim: SimulationResult) =>
        new Map(
          sim.events
            .map(parse)
            .filter((o) => o.kind === 'adverse_event' && (o.grade as number) >= 2)
            .map((o) => [o.patientId, dayOf(o)]),
        );
      let cases = 0;
      // Seeds with such onsets where an unfiltered visit would land the day before (checked by removing the filter).
      for (const seed of [4, 7, 12]) {
        const options = { ...trial, seed, days: 70 };
        const [b, a] = [run(options), run(options, [...weaker])];
        const [ob, oa] = [severe(b), severe(a)];
        const delayed = [...ob].filter(([p, d]) => d % 7 === 0 && (oa.get(p) ?? 1e9) > d).map(([p]) => p);
        cases += delayed.length;
        for (const p of delayed) {
          const until = (sim: SimulationResult) =>
            sim.events.filter((e) => {
              const o = parse(e);
              return o.patientId === p && dayOf(o) < ob.get(p)!;
            });
          expect(until(a)).toEqual(until(b));
        }
      }
      expect(cases).toBeGreaterThan(0);
    });

    it('keeps the oracles on the drifted truth, and a model of the old relation loses AUROC after it', () => {
      const ib = pointIndex(before.oracle);
      const ia = pointIndex(after.oracle);
      const old: number[] = [];
      const ceiling: number[] = [];
      const bayes: number[] = [];
      const labels: number[] = [];
      for (const [key, i] of ia) {
        const d = Number(key.split('/')[1]);
        const j = ib.get(key);
        if (d + before.horizonDays - 1 < 35) {
          // Windows that end before the drift: identical oracle probabilities.
          expect(after.oracle.bayes[i]).toBe(before.oracle.bayes[j!]);
          expect(after.oracle.ceiling[i]).toBe(before.oracle.ceiling[j!]);
        } else if (d >= 35 && j !== undefined) {
          old.push(before.oracle.ceiling[j]!);
          ceiling.push(after.oracle.ceiling[i]!);
          bayes.push(after.oracle.bayes[i]!);
          labels.push(after.oracle.labels[i]!);
        }
      }
      // The present-state probability follows the drifted hazard: on average it is the true window
      // probability (from the drifted hazards), where the old relation's is far below it.
      const truth = mean(bayes);
      expect(truth).toBeGreaterThan(1.3 * mean(old));
      expect(Math.abs(mean(ceiling) - truth)).toBeLessThan(0.1 * truth);
      expect(Math.abs(mean(old) - truth)).toBeGreaterThan(0.3 * truth);
      // The old relation ranks the drifted outcomes worse than it ranks its own after the same day.
      const own = { scores: [] as number[], labels: [] as number[] };
      for (const [key, j] of ib) {
        if (Number(key.split('/')[1]) < 35) continue;
        own.scores.push(before.oracle.ceiling[j]!);
        own.labels.push(before.oracle.labels[j]!);
      }
      expect(auroc(old, labels)!).toBeLessThan(auroc(own.scores, own.labels)! - 0.04);
      expect(auroc(ceiling, labels)!).toBeGreaterThan(auroc(old, labels)!);
    });

    it('changes nothing at the sites it does not name', () => {
      const at2 = run(big, [{ ...concept, sites: ['site-02'] }]);
      const elsewhere = (sim: SimulationResult) => sim.events.filter((e) => e.key !== 'site-02');
      expect(elsewhere(at2)).toEqual(elsewhere(before));
      const severeAt2 = (sim: SimulationResult) =>
        sim.events.filter((e) => e.key === 'site-02' && e.value.includes('"grade":') && parse(e).grade !== 1)
          .length;
      expect(severeAt2(at2)).not.toBe(severeAt2(before));
    });
  });

  it('is deterministic with drift: the same options give the same bytes', () => {
    const drift: DriftInput[] = [
      { kind: 'measurement', fromDay: 20, sites: ['site-02'], measure: 'alt', scale: 1.4 },
      { kind: 'population', fromDay: 25, patients: 30, ageShift: 8 },
      { kind: 'concept', fromDay: 30, eventRateScale: 1.5 },
    ];
    const small = { seed: 9, patients: 80, days: 45, sites: 4 };
    const a = run(small, drift);
    expect(hash(run(small, drift))).toBe(hash(a));
    expect(hash(run({ ...small, seed: 10 }, drift))).not.toBe(hash(a));
    // With the default mess, too, nothing observed before the first drift day changes.
    const early = (sim: SimulationResult) =>
      sim.events.filter((e) => {
        const at = /"observedAt":"([^"]+)"/.exec(e.value)?.[1];
        return at !== undefined && Date.parse(at) < START + 20 * DAY_MS;
      });
    expect(early(a)).toEqual(early(run(small)));
  });

  it('names the field and the reason of every bad drift entry', () => {
    const issues = (drift: unknown[]): { path: string; message: string }[] => {
      try {
        simulateTrial({ seed: 1, patients: 10, days: 30, sites: 4, drift: drift as DriftInput[] });
      } catch (error) {
        expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
        return (error as { details: { issues: { path: string; message: string }[] } }).details.issues;
      }
      return expect.unreachable('no error');
    };
    expect(
      issues([
        { kind: 'measurement', fromDay: 5, measure: 'altt' },
        { kind: 'concept', fromDay: 0 },
        { kind: 'population', fromDay: 5 },
        { kind: 'weather', fromDay: 5 },
        { kind: 'measurement', fromDay: 5, measure: 'alt', scale: -1 },
      ]).map((i) => i.path),
    ).toEqual([
      'drift[0].measure',
      'drift[1].fromDay',
      'drift[2].patients',
      'drift[3].kind',
      'drift[4].scale',
    ]);
    expect(
      issues([
        { kind: 'concept', fromDay: 30 },
        { kind: 'measurement', fromDay: 5, measure: 'alt', sites: ['site-01', 'site-05'] },
      ]),
    ).toEqual([
      { path: 'drift[0].fromDay', message: 'must be below days (30), got 30' },
      {
        path: 'drift[1].sites[1]',
        message: 'is not a site of this trial (site-01 … site-04), got site-05',
      },
    ]);
    // The job config reports the same, under job.trial.
    const parsed = jobConfigSchema.safeParse({
      trial: { days: 60, drift: [{ kind: 'population', fromDay: 60, patients: 10 }] },
    });
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['trial.drift.0.fromDay', 'must be below days (60), got 60'],
    ]);
    expect(jobConfigSchema.parse({}).trial).not.toHaveProperty('drift');
  });
});
