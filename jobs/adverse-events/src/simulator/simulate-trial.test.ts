import { createHash } from 'node:crypto';
import { isVigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { MEASURES } from '../medallion/measure-catalog.js';
import { defaultRiskModel } from './risk-model.js';
import { oracleAurocs, patientId, type SimulatedEvent, simulateTrial } from './simulate-trial.js';

const small = { seed: 7, patients: 60, days: 30, sites: 4 };

function parse(event: SimulatedEvent): Record<string, unknown> | null {
  try {
    return JSON.parse(event.value) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** One per eventId (producer retries send the same event twice). */
function unique<T extends Record<string, unknown> | null>(events: T[]): T[] {
  const seen = new Set<unknown>();
  return events.filter((o) => !seen.has(o?.eventId) && seen.add(o?.eventId));
}

describe('simulateTrial', () => {
  it('is deterministic: same options give the same bytes, another seed different ones', () => {
    const a = simulateTrial(small);
    const b = simulateTrial(small);
    const c = simulateTrial({ ...small, seed: 8 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.bayesAuroc).toBe(b.bayesAuroc);
    expect(a.ceilingAuroc).toBe(b.ceilingAuroc);
    expect(JSON.stringify(c.events)).not.toBe(JSON.stringify(a.events));
  });

  it('keeps earlier patients unchanged when more patients are added', () => {
    const ofFirst = (events: SimulatedEvent[], n: number) =>
      events
        .filter((e) => {
          const m = /"patientId":"P-(\d{6})"/.exec(e.value);
          return m !== null && Number(m[1]) <= n;
        })
        .map((e) => e.value);
    const fewer = simulateTrial({ ...small, patients: 30 });
    const more = simulateTrial({ ...small, patients: 60 });
    const first = ofFirst(fewer.events, 30);
    expect(first.length).toBeGreaterThan(1000);
    expect(ofFirst(more.events, 30)).toEqual(first);
  });

  it('emits every kind on its topic, keyed by site, sorted by recordedAt', () => {
    const { events, stats } = simulateTrial(small);
    expect(stats.events).toBe(events.length);
    const topics = new Map<string, string>();
    let previous = '';
    for (const e of events) {
      expect(e.key).toMatch(/^site-0[1-4]$/);
      const o = parse(e);
      if (!o) continue;
      topics.set(String(o.kind), e.topic);
      const recordedAt = String(o.recordedAt);
      expect(recordedAt >= previous).toBe(true);
      previous = recordedAt;
    }
    expect(Object.fromEntries(topics)).toEqual({
      enrolment: 'enrolments',
      vital: 'vitals',
      lab: 'labs',
      dose: 'doses',
      symptom: 'symptoms',
      adverse_event: 'adverse-events',
    });
    const enrolments = events.map(parse).filter((o) => o?.kind === 'enrolment');
    expect(enrolments).toHaveLength(60);
    expect(enrolments[0]).toMatchObject({ patientId: expect.stringMatching(/^P-\d{6}$/), origin: 'site' });
    expect(new Set(enrolments.map((o) => o?.arm))).toEqual(new Set(['treatment', 'placebo']));
  });

  it('has a learnable but imperfect signal on the defaults, computed from the true hazards', () => {
    const sim = simulateTrial({ seed: 1, patients: 400, days: 90, sites: 4 });
    expect(sim.horizonDays).toBe(7);
    expect(sim.bayesAuroc).toBeGreaterThan(0.83);
    expect(sim.bayesAuroc).toBeLessThan(0.95);
    // The present-state ceiling: below the oracle that knows the coming shocks, well above chance.
    expect(sim.ceilingAuroc).toBeGreaterThan(0.8);
    expect(sim.ceilingAuroc).toBeLessThan(sim.bayesAuroc - 0.01);
    // Per-point oracle scores: over every patient they give the same AUROCs; over half the
    // patients, AUROCs of those patients' points only.
    const all = oracleAurocs(
      sim.oracle,
      Array.from({ length: 400 }, (_, i) => patientId(i)),
    );
    expect(all).toEqual({
      bayes: sim.bayesAuroc,
      ceiling: sim.ceilingAuroc,
      points: sim.stats.predictionTimes,
    });
    const half = oracleAurocs(
      sim.oracle,
      Array.from({ length: 200 }, (_, i) => patientId(i)),
    );
    expect(half.points).toBe(sim.oracle.patients.filter((p) => p <= patientId(199)).length);
    expect(half.points).toBeLessThan(all.points);
    expect(half.ceiling).not.toBe(all.ceiling);
    expect(sim.stats.prevalence).toBeGreaterThan(0.05);
    expect(sim.stats.prevalence).toBeLessThan(0.2);
    expect(sim.stats.events).toBeGreaterThan(150_000);
    // One grade ≥ 2 event per patient at most: the first censors.
    const severe = unique(
      sim.events.map(parse).filter((o) => o?.kind === 'adverse_event' && Number(o.grade) >= 2),
    );
    expect(severe).toHaveLength(sim.stats.adverseEvents);
    expect(new Set(severe.map((o) => o?.patientId)).size).toBe(severe.length);

    // Without the liver pathway the signal weakens; with age alone it is weak; with no risk factor a coin toss.
    const mid = { seed: 4, patients: 200, days: 60, sites: 2 };
    const base = simulateTrial(mid).bayesAuroc;
    const noLiver = simulateTrial({ ...mid, risk: { liver: 0 } }).bayesAuroc;
    const ageOnly = simulateTrial({ ...mid, risk: { liver: 0, inflammation: 0 } }).bayesAuroc;
    expect(noLiver).toBeLessThan(base - 0.02);
    expect(ageOnly).toBeLessThan(0.7);
    const flat = simulateTrial({
      seed: 1,
      patients: 200,
      days: 40,
      sites: 2,
      risk: { liver: 0, inflammation: 0, age: 0, intercept: -4 },
    });
    expect(flat.stats.prevalence).toBeGreaterThan(0);
    expect(flat.bayesAuroc).toBe(0.5);
    expect(defaultRiskModel.liver).toBeGreaterThan(0);
  });

  it('puts the present-state ceiling below the Bayes oracle', () => {
    for (const seed of [2, 3, 4]) {
      const options = { seed, patients: 300, days: 60, sites: 2 };
      const sim = simulateTrial(options);
      expect(sim.ceilingAuroc, `seed ${seed}`).toBeGreaterThan(0.75);
      expect(sim.ceilingAuroc, `seed ${seed}`).toBeLessThan(sim.bayesAuroc);
    }
    // A one-day window has no future to integrate over: the ceiling is the oracle.
    const oneDay = simulateTrial({ seed: 2, patients: 200, days: 30, sites: 2, horizonDays: 1 });
    expect(oneDay.ceilingAuroc).toBe(oneDay.bayesAuroc);
    // With no risk factor every probability ties: a coin toss, like the oracle.
    const flat = simulateTrial({
      seed: 1,
      patients: 100,
      days: 30,
      sites: 2,
      risk: { liver: 0, inflammation: 0, age: 0, intercept: -4 },
    });
    expect(flat.ceilingAuroc).toBe(0.5);
  });

  it('does not let the mess change the latent trial', () => {
    const clean = simulateTrial({
      ...small,
      mess: {
        duplicateRate: 0,
        unitVariantRate: 0,
        missedVisitRate: 0,
        malformedRate: 0,
        lateRate: 0,
        resendRate: 0,
      },
    });
    const messy = simulateTrial({
      ...small,
      mess: { malformedRate: 0.1, duplicateRate: 0.2, lateRate: 0.1 },
    });
    expect(messy.bayesAuroc).toBe(clean.bayesAuroc);
    expect(messy.ceilingAuroc).toBe(clean.ceilingAuroc);
    expect(messy.stats.adverseEvents).toBe(clean.stats.adverseEvents);
    for (const key of ['malformed', 'duplicates', 'late', 'resent', 'missedVisits'] as const) {
      expect(clean.stats[key]).toBe(0);
    }
    expect(clean.events.every((e) => parse(e) !== null)).toBe(true);
  });

  it('records what it injected (the ground truth), overall and per site, without changing the events', () => {
    const mess = { duplicateRate: 0.1, malformedRate: 0.04, lateRate: 0.05, resendRate: 0.02 };
    const sim = simulateTrial({ seed: 5, patients: 60, days: 30, sites: 4, mess });
    const { injected, stats, events } = sim;
    // The events hash as they did before the ground truth was recorded (seed 7, `small`).
    const hash = createHash('sha256')
      .update(JSON.stringify(simulateTrial(small).events))
      .digest('hex');
    expect(hash).toBe('b7bc82eefacd3355ea5f6604cbdc723a5782efbe94ef4f93ab569250ac474f4b');

    expect(injected.events).toBe(events.length);
    expect(injected.duplicates).toBe(stats.duplicates);
    expect(injected.resent).toBe(stats.resent);
    expect(injected.malformed).toEqual(stats.malformedByKind);
    expect(injected.late).toBe(stats.late);
    expect(injected.unknownPatients).toBe(stats.malformedByKind.unknown_patient);

    // Per site, counted again from the events themselves.
    const sites = [...new Set(events.map((e) => e.key))].sort();
    expect(Object.keys(injected.bySite)).toEqual(sites);
    for (const site of sites) {
      const mine = events.filter((e) => e.key === site);
      const parsed = mine.map(parse);
      const valid = parsed.filter((o): o is Record<string, unknown> => o !== null);
      const ids = valid.map((o) => String(o.eventId));
      const got = injected.bySite[site]!;
      expect(got.events, site).toBe(mine.length);
      expect(got.malformed.bad_json, site).toBe(parsed.length - valid.length);
      expect(got.unknownPatients, site).toBe(valid.filter((o) => /^P-9/.test(String(o.patientId))).length);
      expect(got.resent, site).toBe(ids.length - new Set(ids).size);
      expect(got.duplicates, site).toBe(valid.filter((o) => o.kind === 'vital' && o.origin === 'ehr').length);
    }
    const sum = (key: 'events' | 'duplicates' | 'resent' | 'late' | 'unknownPatients') =>
      Object.values(injected.bySite).reduce((a, c) => a + c[key], 0);
    for (const key of ['events', 'duplicates', 'resent', 'late', 'unknownPatients'] as const) {
      expect(sum(key), key).toBe(injected[key]);
    }
  });

  it('injects each kind of mess at its configured rate, and the stats count it', () => {
    const mess = {
      duplicateRate: 0.1,
      unitVariantRate: 0.05,
      missedVisitRate: 0.1,
      malformedRate: 0.04,
      lateRate: 0.05,
      resendRate: 0.02,
    };
    const { events, stats } = simulateTrial({ seed: 3, patients: 80, days: 40, sites: 4, mess });
    const parsed = events.map(parse);
    const valid = parsed.filter((o): o is Record<string, unknown> => o !== null);
    const hours = (o: Record<string, unknown>) =>
      (Date.parse(String(o.recordedAt)) - Date.parse(String(o.observedAt))) / 3_600_000;

    expect(parsed.filter((o) => o === null)).toHaveLength(stats.malformedByKind.bad_json);
    expect(valid.filter((o) => hours(o) < 0)).toHaveLength(stats.malformedByKind.future_timestamp);
    expect(valid.filter((o) => /^P-9/.test(String(o.patientId)))).toHaveLength(
      stats.malformedByKind.unknown_patient,
    );
    expect(valid.filter((o) => (o.kind === 'vital' || o.kind === 'lab') && !('unit' in o))).toHaveLength(
      stats.malformedByKind.missing_unit,
    );
    const typed = valid.filter(
      (o) =>
        (o.kind === 'vital' || o.kind === 'lab'
          ? typeof o.value
          : o.kind === 'dose'
            ? typeof o.doseMg
            : o.kind === 'symptom'
              ? typeof o.severity
              : 'number') !== 'number',
    );
    expect(typed).toHaveLength(stats.malformedByKind.wrong_type);
    const sum = Object.values(stats.malformedByKind).reduce((a, b) => a + b, 0);
    expect(sum).toBe(stats.malformed);
    for (const count of Object.values(stats.malformedByKind)) expect(count).toBeGreaterThan(0);

    const corruptible = valid.filter((o) =>
      ['vital', 'lab', 'dose', 'symptom'].includes(String(o.kind)),
    ).length;
    expect(stats.malformed / corruptible).toBeGreaterThan(0.03);
    expect(stats.malformed / corruptible).toBeLessThan(0.05);

    // Late: recorded a day or more after observation.
    const late = unique(valid.filter((o) => hours(o) > 20));
    expect(late).toHaveLength(stats.late);
    expect(stats.late / events.length).toBeGreaterThan(0.04);
    expect(stats.late / events.length).toBeLessThan(0.06);

    // Duplicates: the EHR copy of an app or device vital.
    const vitals = valid.filter((o) => o.kind === 'vital');
    const ehr = vitals.filter((o) => o.origin === 'ehr');
    expect(ehr).toHaveLength(stats.duplicates);
    expect(stats.duplicates / (vitals.length - ehr.length)).toBeGreaterThan(0.08);
    expect(stats.duplicates / (vitals.length - ehr.length)).toBeLessThan(0.12);

    // Producer retries: the same eventId twice.
    const ids = valid.map((o) => String(o.eventId));
    expect(ids.length - new Set(ids).size).toBe(stats.resent);

    // Site units: site-03 weighs in lb and measures temperature in °F; site-02 reports creatinine in µmol/L.
    const unitsAt = (site: string, measure: string) =>
      new Set(
        valid.filter((o) => o.siteId === site && o.measure === measure && 'unit' in o).map((o) => o.unit),
      );
    expect(unitsAt('site-03', 'weight')).toEqual(new Set(['lb']));
    expect(unitsAt('site-03', 'temperature')).toEqual(new Set(['°F']));
    expect(unitsAt('site-02', 'creatinine')).toEqual(new Set(['µmol/L']));
    expect(unitsAt('site-01', 'weight')).toEqual(new Set(['kg', 'lb']));
    const variants = valid.filter(
      (o) =>
        'unit' in o &&
        MEASURES[o.measure as keyof typeof MEASURES]?.canonicalUnit !== o.unit &&
        hours(o) >= 0,
    );
    expect(variants.length).toBeGreaterThan(0);
    expect(variants.length).toBeLessThanOrEqual(stats.unitVariants);

    // Missed visits: about 10 % of patient-days have no vitals.
    const patientDays = new Set(
      valid
        .filter((o) => o.kind === 'dose')
        .map((o) => `${o.patientId}/${String(o.observedAt).slice(0, 10)}`),
    );
    const withVitals = new Set(vitals.map((o) => `${o.patientId}/${String(o.observedAt).slice(0, 10)}`));
    const missedDays = [...patientDays].filter((d) => !withVitals.has(d)).length;
    expect(missedDays / patientDays.size).toBeGreaterThan(0.07);
    expect(missedDays / patientDays.size).toBeLessThan(0.13);
    expect(stats.missedVisits).toBeGreaterThanOrEqual(missedDays);
  });

  it('reports every bad option at once with its path', () => {
    try {
      simulateTrial({
        seed: 1,
        patients: 0,
        days: 5,
        sites: 4,
        mess: { lateRate: 2 },
        risk: { livr: 1 } as never,
      });
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
      const issues = (error as { details: { issues: { path: string }[] } }).details.issues.map((i) => i.path);
      expect(issues).toEqual(expect.arrayContaining(['patients', 'days', 'mess.lateRate', 'risk.livr']));
    }
  });
});
