import { auroc, createRng, type Rng, VigilError } from '@vigil/core';
import type {
  AdverseEvent,
  ClinicalEvent,
  DoseEvent,
  EnrolmentEvent,
  EventOrigin,
  LabEvent,
  SymptomEvent,
  VitalEvent,
} from '../domain/clinical-event.js';
import { type EventTopic, TOPIC_OF_KIND } from '../domain/topics.js';
import { fromCanonical, MEASURES, type MeasureName } from '../medallion/measure-catalog.js';
import {
  type DriftInput,
  DriftSchedule,
  driftSchema,
  driftTrialIssues,
  type HazardCoefficients,
  type PopulationDrift,
} from './drift.js';
import { defaultMessRates, MALFORMED_KIND_NAMES, type MalformedKind, type MessRates } from './mess.js';
import {
  defaultRiskModel,
  drawFutures,
  type FutureDraws,
  logistic,
  type PatientTraits,
  presentStateProbability,
  type RiskModel,
  simulateLatentPath,
  windowProbability,
} from './risk-model.js';

export { SIMULATED_TOPICS, TOPIC_OF_KIND } from '../domain/topics.js';
export type SimulatedTopic = EventTopic;

export interface SimulatedEvent {
  topic: SimulatedTopic;
  /** Partition key: the site id. */
  key: string;
  /** JSON of a ClinicalEvent, or a deliberately malformed payload. */
  value: string;
}

export interface SimulationOptions {
  seed: number;
  patients: number;
  days: number;
  sites: number;
  /** First trial day, 00:00 UTC. Default 2026-01-05T00:00:00Z. */
  start?: Date;
  /** Days ahead the prediction task looks (label: an adverse event of grade ≥ 2 in this window). Default 7. */
  horizonDays?: number;
  /** Mess rates; omitted fields take {@link defaultMessRates}. */
  mess?: Partial<MessRates>;
  /** Risk-model coefficients; omitted fields take {@link defaultRiskModel}. */
  risk?: Partial<RiskModel>;
  /**
   * Drift scheduled in the trial (README.md, "Drift"). Omitted or empty: none, and the output is
   * exactly that of the same options without it.
   */
  drift?: readonly DriftInput[];
}

export interface SimulationStats {
  patients: number;
  sites: number;
  /** Events emitted, every copy and malformed payload included. */
  events: number;
  /** Adverse events of grade ≥ 2 (one per patient at most; the first censors). */
  adverseEvents: number;
  /** Grade-1 adverse events (noise; they do not censor). */
  mildAdverseEvents: number;
  malformed: number;
  malformedByKind: Record<MalformedKind, number>;
  /** Vital readings sent a second time from another origin. */
  duplicates: number;
  /** Events sent twice with the same eventId. */
  resent: number;
  /** Readings in a non-canonical unit (site conventions and random variants). */
  unitVariants: number;
  /** Patient-days without vitals plus skipped lab visits. */
  missedVisits: number;
  /** Events recorded one or more days after they were observed. */
  late: number;
  /** (patient, prediction time) pairs the task is evaluated on. */
  predictionTimes: number;
  /** Share of prediction times followed by an event within the horizon. */
  prevalence: number;
}

/** What the simulator injected into a stream (or one site's share of it): the ground truth a reconciliation is checked against. */
export interface InjectedCounts {
  /** Events emitted, every copy and malformed payload included. */
  events: number;
  /** Vital readings sent a second time from the EHR (new eventId): silver drops them as cross-origin duplicates. */
  duplicates: number;
  /** Second copies with the same eventId (producer retries): silver quarantines them as `duplicate_event_id`. */
  resent: number;
  /** Malformed payloads per kind; each ends in quarantine with `MALFORMED_KINDS[kind].reason`. */
  malformed: Record<MalformedKind, number>;
  /** Events recorded one to five days after they were observed (valid: silver keeps them). */
  late: number;
  /** Events naming a patient no enrolment knows (the `unknown_patient` malformed kind). */
  unknownPatients: number;
}

export interface SimulationResult {
  events: SimulatedEvent[];
  /** Ground truth of the mess in `events`, overall and per site (the record key). */
  injected: InjectedCounts & { bySite: Record<string, InjectedCounts> };
  /** AUROC of the true window probability (from the true hazards) against the realised labels. */
  bayesAuroc: number;
  /**
   * AUROC of the window probability given only each patient's latent state at the prediction
   * time (future doses and episodes unknown) against the realised labels: the attainable
   * ceiling, at most `bayesAuroc` in expectation.
   */
  ceilingAuroc: number;
  /**
   * The oracle scores of every prediction point, by patient (in patient order), so the oracle and
   * ceiling AUROCs can be computed on any set of patients (e.g. a model's held-out ones).
   */
  oracle: OraclePoints;
  horizonDays: number;
  stats: SimulationStats;
}

/** Per prediction point: the patient, both oracle probabilities and the realised label. */
export interface OraclePoints {
  patients: string[];
  bayes: number[];
  ceiling: number[];
  labels: number[];
}

/** Oracle (`bayes`) and present-state (`ceiling`) AUROC on the points of the given patients. */
export function oracleAurocs(
  points: OraclePoints,
  patients: Iterable<string>,
): { bayes: number | null; ceiling: number | null; points: number } {
  const keep = new Set(patients);
  const bayes: number[] = [];
  const ceiling: number[] = [];
  const labels: number[] = [];
  points.patients.forEach((p, i) => {
    if (!keep.has(p)) return;
    bayes.push(points.bayes[i]!);
    ceiling.push(points.ceiling[i]!);
    labels.push(points.labels[i]!);
  });
  return { bayes: auroc(bayes, labels), ceiling: auroc(ceiling, labels), points: labels.length };
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const DEFAULT_START = Date.UTC(2026, 0, 5);
/**
 * Futures averaged over for the present-state probability behind `ceilingAuroc`: shared by every
 * prediction point and stratified per day, enough for the AUROC to be stable to about 1e-3.
 */
export const CEILING_DRAWS = 256;
/** First prediction day: predictions are made at 00:00 UTC of every day from this one. */
export const FIRST_PREDICTION_DAY = 7;

/** Site conventions: site-03 reports weight in lb and temperature in °F; site-02 reports creatinine in µmol/L. */
export const SITE_UNITS: Readonly<Record<string, Partial<Record<MeasureName, string>>>> = {
  'site-02': { creatinine: 'µmol/L' },
  'site-03': { weight: 'lb', temperature: '°F' },
};
const RANDOM_VARIANTS: Partial<Record<MeasureName, string>> = {
  weight: 'lb',
  temperature: '°F',
  creatinine: 'µmol/L',
  bilirubin: 'µmol/L',
};

const SYMPTOMS: { name: SymptomEvent['symptom']; base: number; liver: number; inflammation: number }[] = [
  { name: 'fatigue', base: -3.6, liver: 0.9, inflammation: 0.9 },
  { name: 'nausea', base: -4.2, liver: 1.1, inflammation: 0.3 },
  { name: 'rash', base: -5.2, liver: 0.9, inflammation: 0.2 },
  { name: 'headache', base: -3.9, liver: 0.1, inflammation: 0.7 },
  { name: 'dizziness', base: -4.6, liver: 0.2, inflammation: 0.6 },
];
const SEVERE_GRADES = [2, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5];
const MILD_TERMS = ['fatigue', 'nausea', 'headache', 'injection site reaction'];

interface Pending {
  recordedMs: number;
  topic: SimulatedTopic;
  key: string;
  value: string;
  /** The mess this copy carries, for the ground truth (never part of the event). */
  mess?: 'duplicate' | 'resent' | MalformedKind;
  /** Recorded days after it was observed (the original, not its resent copy). */
  late?: true;
}

/** Patient id format: `P-000123` (pseudonymous, still an identifier — never logged). */
export function patientId(index: number): string {
  return `P-${String(index + 1).padStart(6, '0')}`;
}
export function siteId(index: number): string {
  return `site-${String(index + 1).padStart(2, '0')}`;
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const iso = (ms: number): string => new Date(ms).toISOString();

/** Every problem with the options at once (VIGIL_CONFIG_INVALID, `details.issues`). */
function validate(options: SimulationOptions): void {
  const issues: { path: string; message: string }[] = [];
  const ints: [keyof SimulationOptions, number, number][] = [
    ['patients', 1, 800_000],
    ['days', FIRST_PREDICTION_DAY + 2, 3650],
    ['sites', 1, 99],
  ];
  for (const [name, lo, hi] of ints) {
    const v = options[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      issues.push({ path: name, message: `must be an integer in [${lo}, ${hi}], got ${String(v)}` });
    }
  }
  if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) {
    issues.push({ path: 'seed', message: `must be a finite number, got ${String(options.seed)}` });
  }
  if (options.start !== undefined && !Number.isFinite(options.start.getTime())) {
    issues.push({ path: 'start', message: 'is not a valid date' });
  }
  const horizon = options.horizonDays ?? 7;
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > options.days - FIRST_PREDICTION_DAY - 1) {
    issues.push({
      path: 'horizonDays',
      message: `must be an integer in [1, days - ${FIRST_PREDICTION_DAY + 1}], got ${horizon}`,
    });
  }
  for (const [name, rate] of Object.entries(options.mess ?? {})) {
    if (!(name in defaultMessRates))
      issues.push({ path: `mess.${name}`, message: 'is not a known mess rate' });
    else if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      issues.push({ path: `mess.${name}`, message: `must be a probability in [0, 1], got ${String(rate)}` });
    }
  }
  for (const [name, value] of Object.entries(options.risk ?? {})) {
    if (!(name in defaultRiskModel))
      issues.push({ path: `risk.${name}`, message: 'is not a risk-model parameter' });
    else if (typeof value !== 'number' || !Number.isFinite(value)) {
      issues.push({ path: `risk.${name}`, message: `must be a finite number, got ${String(value)}` });
    }
  }
  if (options.drift !== undefined && !Array.isArray(options.drift)) {
    issues.push({ path: 'drift', message: 'must be a list of drift entries' });
  } else if (options.drift !== undefined) {
    const parsed = options.drift.map((d) => driftSchema.safeParse(d));
    parsed.forEach((r, i) => {
      for (const issue of r.error?.issues ?? []) {
        issues.push({ path: driftPath([i, ...issue.path]), message: issue.message });
      }
    });
    if (parsed.every((r) => r.success) && Number.isInteger(options.days) && Number.isInteger(options.sites)) {
      const drift = parsed.map((r) => r.data!);
      for (const issue of driftTrialIssues(drift, { days: options.days, sites: options.sites }))
        issues.push({ path: driftPath(issue.path), message: issue.message });
    }
  }
  if (issues.length > 0) {
    const lines = issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n');
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `simulateTrial options have ${issues.length} problem(s):\n${lines}`,
      {
        details: { issues },
      },
    );
  }
}

/** `drift[0].sites[1]` from `[0, 'sites', 1]`. */
function driftPath(path: readonly PropertyKey[]): string {
  return `drift${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
}

/**
 * Generate a seeded multi-site clinical trial as the event feeds a pipeline would consume:
 * enrolments, vitals, weekly labs, daily doses, symptom reports and adverse-event reports,
 * with real-world mess (site units, cross-origin duplicates, missed visits, malformed and
 * late events, producer retries). Events come sorted by `recordedAt`.
 *
 * The same options always give the same output. Each patient draws from its own random
 * stream, forked in patient order, so adding patients leaves the earlier ones unchanged.
 * `bayesAuroc` is computed from the true hazards of the latent risk model, `ceilingAuroc` from the
 * latent state at each prediction time with the future integrated out (README.md).
 *
 * `drift` changes the trial from a day on (README.md, "Drift") without drawing from any stream
 * the trial without it draws from: events observed before the first drift's day are unchanged.
 */
export function simulateTrial(options: SimulationOptions): SimulationResult {
  validate(options);
  const mess: MessRates = { ...defaultMessRates, ...options.mess };
  const model: RiskModel = { ...defaultRiskModel, ...options.risk };
  const horizon = options.horizonDays ?? 7;
  const start = options.start?.getTime() ?? DEFAULT_START;
  const drift =
    options.drift && options.drift.length > 0
      ? new DriftSchedule(options.drift.map((d) => driftSchema.parse(d)))
      : undefined;
  const root = createRng(options.seed);
  const patientStreams = root.fork('patients');
  // Forked after the patients' streams and drawn from nowhere else, so the events never change.
  const futures = drawFutures(model, horizon - 1, CEILING_DRAWS, root.fork('ceiling'));
  const stats: SimulationStats = {
    patients: options.patients + (drift?.populations.reduce((n, c) => n + c.patients, 0) ?? 0),
    sites: options.sites,
    events: 0,
    adverseEvents: 0,
    mildAdverseEvents: 0,
    malformed: 0,
    malformedByKind: Object.fromEntries(MALFORMED_KIND_NAMES.map((k) => [k, 0])) as Record<
      MalformedKind,
      number
    >,
    duplicates: 0,
    resent: 0,
    unitVariants: 0,
    missedVisits: 0,
    late: 0,
    predictionTimes: 0,
    prevalence: 0,
  };
  const pending: Pending[] = [];
  const scores: number[] = [];
  const ceilingScores: number[] = [];
  const labels: number[] = [];
  const pointPatients: string[] = [];
  const context: TrialContext = {
    start,
    days: options.days,
    sites: options.sites,
    horizon,
    mess,
    model,
    futures,
    drift,
  };
  const sink: Sink = { stats, pending, scores, ceilingScores, labels, pointPatients };
  for (let i = 0; i < options.patients; i++)
    simulatePatient(i, patientStreams.fork('patient'), context, sink);
  if (drift && drift.populations.length > 0) {
    // New cohorts draw from their own streams, forked after every other one, in list order.
    const cohorts = root.fork('drift-population');
    let index = options.patients;
    for (const cohort of drift.populations) {
      const cohortStreams = cohorts.fork('cohort');
      for (let k = 0; k < cohort.patients; k++)
        simulatePatient(index++, cohortStreams.fork('patient'), context, sink, cohort);
    }
  }
  pending.sort((a, b) => a.recordedMs - b.recordedMs);
  stats.events = pending.length;
  stats.predictionTimes = labels.length;
  stats.prevalence = labels.length === 0 ? 0 : labels.reduce((s, l) => s + l, 0) / labels.length;
  return {
    events: pending.map(({ topic, key, value }) => ({ topic, key, value })),
    injected: countInjected(pending),
    bayesAuroc: auroc(scores, labels) ?? 0.5,
    ceilingAuroc: auroc(ceilingScores, labels) ?? 0.5,
    oracle: { patients: pointPatients, bayes: scores, ceiling: ceilingScores, labels },
    horizonDays: horizon,
    stats,
  };
}

function emptyInjected(): InjectedCounts {
  return {
    events: 0,
    duplicates: 0,
    resent: 0,
    malformed: Object.fromEntries(MALFORMED_KIND_NAMES.map((k) => [k, 0])) as Record<MalformedKind, number>,
    late: 0,
    unknownPatients: 0,
  };
}

/** Count the mess each emitted copy carries, overall and per site. */
function countInjected(pending: readonly Pending[]): SimulationResult['injected'] {
  const total = emptyInjected();
  const bySite: Record<string, InjectedCounts> = {};
  for (const p of pending) {
    for (const c of [total, (bySite[p.key] ??= emptyInjected())]) {
      c.events++;
      if (p.late) c.late++;
      if (p.mess === 'duplicate') c.duplicates++;
      else if (p.mess === 'resent') c.resent++;
      else if (p.mess !== undefined) {
        c.malformed[p.mess]++;
        if (p.mess === 'unknown_patient') c.unknownPatients++;
      }
    }
  }
  const sorted = Object.fromEntries(Object.entries(bySite).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { ...total, bySite: sorted };
}

interface TrialContext {
  start: number;
  days: number;
  sites: number;
  horizon: number;
  mess: MessRates;
  model: RiskModel;
  /** Futures shared by every prediction point for the present-state probability. */
  futures: FutureDraws;
  /** Drift scheduled in the trial; undefined when none. */
  drift: DriftSchedule | undefined;
}

interface Sink {
  stats: SimulationStats;
  pending: Pending[];
  /** True window probability from the realised hazards (`bayesAuroc`). */
  scores: number[];
  /** Window probability given the latent state at the prediction time (`ceilingAuroc`). */
  ceilingScores: number[];
  labels: number[];
  /** The patient of each point. */
  pointPatients: string[];
}

type Measurement = VitalEvent | LabEvent | DoseEvent | SymptomEvent;

/**
 * Simulate one patient: traits, latent path, onset, then every event the feeds carry. A patient of
 * a population drift's `cohort` enrols on its `fromDay` with its shifted traits; `d` below counts
 * the patient's days from enrolment.
 */
function simulatePatient(
  index: number,
  rng: Rng,
  trial: TrialContext,
  sink: Sink,
  cohort?: PopulationDrift,
): void {
  const latentRng = rng.fork('latent');
  const onsetRng = rng.fork('onset');
  const obs = rng.fork('observe');
  const messRng = rng.fork('mess');
  const idRng = rng.fork('ids');
  const { stats, pending } = sink;
  const { mess, horizon, drift } = trial;
  const enrolDay = cohort?.fromDay ?? 0;
  /** Days the patient is followed: from enrolment to the end of the trial. */
  const days = trial.days - enrolDay;

  const pid = patientId(index);
  const site = cohort?.sites
    ? (cohort.sites[latentRng.int(cohort.sites.length)] as string)
    : siteId(latentRng.int(trial.sites));
  const traits: PatientTraits = {
    age: cohort ? clamp(18 + latentRng.int(63) + cohort.ageShift, 18, 100) : 18 + latentRng.int(63),
    sex: latentRng.next() < 0.5 ? 'F' : 'M',
    arm: latentRng.next() < 0.5 ? 'treatment' : 'placebo',
    susceptibility: cohort ? latentRng.normal() + cohort.susceptibilityShift : latentRng.normal(),
    adherence: 1 - 0.5 * latentRng.next() ** 2,
  };
  const path = simulateLatentPath(traits, days, trial.model, latentRng);

  // Concept drift: the hazards of drifted days from the same latent states (a pure transform).
  const concept = drift !== undefined && drift.conceptIn(enrolDay + days - 1, site);
  const hazardAt = (d: number): HazardCoefficients =>
    drift ? drift.hazardAt(trial.model, enrolDay + d, site) : trial.model;
  const baseHazard = concept ? path.hazard.slice() : path.hazard;
  if (concept) {
    for (let d = 0; d < days; d++) {
      const c = hazardAt(d);
      if (c === trial.model) continue;
      const l = d > 0 ? (path.liver[d - 1] ?? 0) : 0;
      const inf = d > 0 ? (path.inflammation[d - 1] ?? 0) : 0;
      path.hazard[d] = logistic(
        c.intercept + c.liver * l + c.inflammation * inf + (c.age * (traits.age - 55)) / 10,
      );
    }
  }

  // One uniform a day, drawn in day order and shared by the drifted and the undrifted onset.
  const uniforms: number[] = [];
  const firstBelow = (hazard: Float64Array): number | undefined => {
    for (let d = 0; d < days; d++) {
      if (d === uniforms.length) uniforms.push(onsetRng.next());
      if ((uniforms[d] as number) < (hazard[d] ?? 0)) return d;
    }
    return undefined;
  };
  const onset = firstBelow(path.hazard);
  /** The onset without concept drift: the observation streams keep its number of lab visits. */
  const baseOnset = concept ? firstBelow(baseHazard) : onset;
  for (let d = FIRST_PREDICTION_DAY; d + horizon <= days; d++) {
    if (onset !== undefined && onset < d) break;
    sink.scores.push(windowProbability(path.hazard, d, horizon));
    const state = { liver: path.liver[d - 1] ?? 0, inflammation: path.inflammation[d - 1] ?? 0 };
    const hazards =
      concept && drift.conceptIn(enrolDay + d + horizon - 1, site)
        ? Array.from({ length: horizon }, (_, k) => hazardAt(d + k))
        : undefined;
    sink.ceilingScores.push(
      presentStateProbability(state, traits, horizon, trial.model, trial.futures, hazards),
    );
    sink.labels.push(onset !== undefined && onset < d + horizon ? 1 : 0);
    sink.pointPatients.push(pid);
  }

  const newId = (): string =>
    `ev-${Math.floor(idRng.next() * 0x100000000)
      .toString(16)
      .padStart(8, '0')}${Math.floor(idRng.next() * 0x100000000)
      .toString(16)
      .padStart(8, '0')}`;
  const push = (
    topic: SimulatedTopic,
    recordedMs: number,
    value: string,
    tag: Pick<Pending, 'mess' | 'late'> = {},
  ): void => {
    pending.push({ topic, key: site, recordedMs, value, ...tag });
  };
  const base = (
    kind: ClinicalEvent['kind'],
    observedMs: number,
    recordedMs: number,
    origin: EventOrigin,
  ) => ({
    eventId: newId(),
    kind,
    patientId: pid,
    siteId: site,
    observedAt: iso(observedMs),
    recordedAt: iso(recordedMs),
    origin,
  });
  const uniform = (lo: number, hi: number): number => lo + (hi - lo) * messRng.next();
  const normalDelay = (origin: EventOrigin): number =>
    origin === 'ehr' ? uniform(60, 360) * MINUTE_MS : uniform(1, 30) * MINUTE_MS;

  /** Emit an event with the mess of the feeds: malformed, late, resent. */
  const emit = (event: ClinicalEvent, corruptible: boolean): boolean => {
    const topic = TOPIC_OF_KIND[event.kind];
    const observedMs = Date.parse(event.observedAt);
    if (corruptible && messRng.next() < mess.malformedRate) {
      const kind = pickMalformedKind(event, messRng);
      stats.malformed++;
      stats.malformedByKind[kind]++;
      push(topic, Date.parse(event.recordedAt), malformedPayload(event as Measurement, kind, messRng), {
        mess: kind,
      });
      return false;
    }
    let recordedMs = Date.parse(event.recordedAt);
    let late = false;
    if (event.kind !== 'enrolment' && messRng.next() < mess.lateRate) {
      recordedMs = observedMs + uniform(1, 5) * DAY_MS;
      event.recordedAt = iso(recordedMs);
      stats.late++;
      late = true;
    }
    const value = JSON.stringify(event);
    push(topic, recordedMs, value, late ? { late: true } : {});
    if (messRng.next() < mess.resendRate) {
      stats.resent++;
      push(topic, recordedMs, value, { mess: 'resent' });
    }
    return true;
  };

  const unitFor = (measure: MeasureName): string => {
    const conventional = SITE_UNITS[site]?.[measure];
    if (conventional) return conventional;
    const variant = RANDOM_VARIANTS[measure];
    if (variant && messRng.next() < mess.unitVariantRate) return variant;
    return MEASURES[measure].canonicalUnit;
  };
  /** A vital or lab reading in canonical units, reported in the site's unit; maybe duplicated from the EHR. */
  const measure = (
    kind: 'vital' | 'lab',
    name: MeasureName,
    canonical: number,
    observedMs: number,
    origin: EventOrigin,
  ) => {
    const spec = MEASURES[name];
    const unit = unitFor(name);
    if (unit !== spec.canonicalUnit) stats.unitVariants++;
    const digits = name === 'bilirubin' || name === 'creatinine' ? 2 : name === 'heart_rate' ? 0 : 1;
    // Measurement drift changes the recorded value (the same reading in the EHR copy), not the state.
    const day = Math.floor((observedMs - trial.start) / DAY_MS);
    const recorded = drift ? (v: number) => drift.recorded(name, v, day, site) : (v: number) => v;
    const report = (v: number) =>
      round(fromCanonical(name, unit, clamp(recorded(v), spec.min, spec.max)), digits);
    const event = {
      ...base(kind, observedMs, observedMs + normalDelay(origin), origin),
      measure: name,
      value: report(canonical),
      unit,
    } as VitalEvent | LabEvent;
    const clean = emit(event, true);
    if (clean && kind === 'vital' && origin !== 'ehr' && messRng.next() < mess.duplicateRate) {
      // The same reading transcribed into the hospital EHR: a new id, jittered time and value.
      stats.duplicates++;
      if (unit !== spec.canonicalUnit) stats.unitVariants++;
      const ehrObserved = observedMs + Math.round(uniform(-10, 10) * MINUTE_MS);
      const jitter = canonical * (1 + uniform(-0.01, 0.01));
      const copy = {
        ...base(kind, ehrObserved, ehrObserved + normalDelay('ehr'), 'ehr'),
        measure: name,
        value: report(jitter),
        unit,
      } as VitalEvent | LabEvent;
      push(TOPIC_OF_KIND[kind], Date.parse(copy.recordedAt), JSON.stringify(copy), { mess: 'duplicate' });
    }
  };

  // Baselines the observations vary around.
  const hrBase = clamp(72 + 8 * obs.normal(), 52, 98);
  const sbpBase = clamp(124 + 12 * obs.normal(), 95, 165);
  const dbpBase = clamp(79 + 8 * obs.normal(), 55, 100);
  const weightBase = clamp(78 + 15 * obs.normal(), 45, 150);
  const altBase = 22 * Math.exp(0.25 * obs.normal());
  const astBase = 24 * Math.exp(0.2 * obs.normal());
  const biliBase = 0.6 * Math.exp(0.3 * obs.normal());
  const creatBase = (traits.sex === 'M' ? 1.0 : 0.8) * Math.exp(0.12 * obs.normal());

  const dayStart = (d: number) => trial.start + (enrolDay + d) * DAY_MS;
  const at = (d: number, hour: number, sdMinutes: number, lo: number, hi: number) =>
    dayStart(d) + Math.round(clamp(hour * 60 + sdMinutes * obs.normal(), lo * 60, hi * 60) * MINUTE_MS);

  const enrolledMs = dayStart(0) + 6 * 3_600_000;
  const enrolment: EnrolmentEvent = {
    ...base('enrolment', enrolledMs, enrolledMs + Math.round(uniform(1, 10) * MINUTE_MS), 'site'),
    kind: 'enrolment',
    age: traits.age,
    sex: traits.sex,
    arm: traits.arm,
  };
  emit(enrolment, false);

  const lastDay = onset ?? days;
  const labVisits = new Set<number>();
  let k = 0;
  for (; k * 7 < (baseOnset ?? days); k++) labVisits.add(k === 0 ? 0 : k * 7 + obs.int(3) - 1);
  if (k * 7 < lastDay) {
    // Concept drift delayed the onset: the visits after the undrifted one come from a stream of their own.
    const extra = rng.fork('drift-visits');
    for (; k * 7 < lastDay; k++) {
      // Not before the undrifted onset (itself on or after the drift's day), which had no visit.
      const visit = k === 0 ? 0 : k * 7 + extra.int(3) - 1;
      if (visit >= (baseOnset ?? days)) labVisits.add(visit);
    }
  }

  for (let d = 0; d < lastDay; d++) {
    const liver = path.liver[d] ?? 0;
    const inflammation = path.inflammation[d] ?? 0;
    const taken = path.taken[d] === 1;

    const doseMs = at(d, 9, 30, 7, 11);
    const dose: DoseEvent = {
      ...base('dose', doseMs, doseMs + normalDelay('app'), 'app'),
      kind: 'dose',
      doseMg: taken ? 100 : 0,
      taken,
    };
    emit(dose, true);

    if (messRng.next() < mess.missedVisitRate) {
      stats.missedVisits++;
    } else {
      const hrSd = 3 + 4 * inflammation;
      measure(
        'vital',
        'heart_rate',
        hrBase + 10 * inflammation + hrSd * obs.normal(),
        at(d, 8, 40, 6, 10),
        'device',
      );
      measure(
        'vital',
        'heart_rate',
        hrBase + 10 * inflammation + hrSd * obs.normal(),
        at(d, 20, 40, 18, 22),
        'device',
      );
      measure(
        'vital',
        'spo2',
        97.6 - 1.3 * inflammation + 0.9 * obs.normal(),
        at(d, 8.25, 30, 6, 10),
        'device',
      );
      const bpMs = at(d, 8.5, 45, 6, 11);
      measure('vital', 'systolic_bp', sbpBase - 5 * inflammation + 7 * obs.normal(), bpMs, 'app');
      measure('vital', 'diastolic_bp', dbpBase - 3 * inflammation + 5 * obs.normal(), bpMs, 'app');
      measure(
        'vital',
        'temperature',
        36.7 + 0.55 * inflammation + 0.25 * obs.normal(),
        at(d, 8.75, 45, 6, 11),
        'app',
      );
      if (obs.next() < 0.6) {
        measure(
          'vital',
          'weight',
          weightBase - 1.2 * liver + 0.4 * obs.normal(),
          at(d, 7.5, 30, 6, 9),
          'app',
        );
      }
      for (const symptom of SYMPTOMS) {
        const p = logistic(symptom.base + symptom.liver * liver + symptom.inflammation * inflammation);
        if (obs.next() < p) {
          const ms = at(d, 19, 60, 16, 23);
          const severity = Math.round(clamp(2 + 1.5 * liver + 1.5 * inflammation + obs.normal(), 1, 10));
          const event: SymptomEvent = {
            ...base('symptom', ms, ms + normalDelay('app'), 'app'),
            kind: 'symptom',
            symptom: symptom.name,
            severity,
          };
          emit(event, true);
        }
      }
    }

    if (labVisits.has(d)) {
      if (messRng.next() < mess.missedVisitRate) {
        stats.missedVisits++;
      } else {
        const ms = at(d, 10, 60, 8, 13);
        const noise = () => Math.exp(0.12 * obs.normal());
        measure('lab', 'alt', altBase * Math.exp(1.0 * liver) * noise(), ms, 'ehr');
        measure('lab', 'ast', astBase * Math.exp(0.7 * liver) * noise(), ms, 'ehr');
        measure('lab', 'bilirubin', biliBase * Math.exp(0.35 * liver) * noise(), ms, 'ehr');
        measure('lab', 'creatinine', creatBase * Math.exp(0.08 * obs.normal()), ms, 'ehr');
      }
    }

    if (obs.next() < 0.002 + 0.004 * inflammation) {
      const ms = dayStart(d) + Math.floor(obs.next() * DAY_MS);
      const mild: AdverseEvent = {
        ...base('adverse_event', ms, ms + uniform(2, 18) * 3_600_000, 'site'),
        kind: 'adverse_event',
        grade: 1,
        term: MILD_TERMS[obs.int(MILD_TERMS.length)] ?? 'fatigue',
      };
      stats.mildAdverseEvents++;
      emit(mild, false);
    }
  }

  if (onset !== undefined) {
    const ms = dayStart(onset) + Math.floor(obs.next() * DAY_MS);
    const liverShare = hazardAt(onset).liver * (path.liver[onset] ?? 0);
    const inflammationShare = hazardAt(onset).inflammation * (path.inflammation[onset] ?? 0);
    const event: AdverseEvent = {
      ...base('adverse_event', ms, ms + uniform(2, 18) * 3_600_000, 'site'),
      kind: 'adverse_event',
      grade: SEVERE_GRADES[obs.int(SEVERE_GRADES.length)] ?? 2,
      term: liverShare > inflammationShare ? 'hepatotoxicity' : 'pyrexia',
    };
    stats.adverseEvents++;
    emit(event, false);
  }
}

function pickMalformedKind(event: ClinicalEvent, rng: Rng): MalformedKind {
  const measured = event.kind === 'vital' || event.kind === 'lab';
  const kinds = measured ? MALFORMED_KIND_NAMES : MALFORMED_KIND_NAMES.filter((k) => k !== 'missing_unit');
  return kinds[rng.int(kinds.length)] ?? 'bad_json';
}

/** A deliberately broken version of a measurement event. */
function malformedPayload(event: Measurement, kind: MalformedKind, rng: Rng): string {
  const copy: Record<string, unknown> = { ...event };
  switch (kind) {
    case 'bad_json': {
      const json = JSON.stringify(event);
      return json.slice(0, Math.floor(json.length / 2));
    }
    case 'wrong_type':
      if (event.kind === 'dose') copy.doseMg = `${event.doseMg}mg`;
      else if (event.kind === 'symptom') copy.severity = 'moderate';
      else copy.value = String(event.value);
      break;
    case 'missing_unit':
      delete copy.unit;
      break;
    case 'impossible_value':
      if (event.kind === 'dose') copy.doseMg = -100;
      else if (event.kind === 'symptom') copy.severity = 42;
      else
        copy.value = round(
          fromCanonical(event.measure, event.unit, MEASURES[event.measure].max * 3 + 150),
          1,
        );
      break;
    case 'future_timestamp':
      copy.observedAt = iso(Date.parse(event.recordedAt) + (2 + rng.int(8)) * DAY_MS);
      break;
    case 'unknown_patient':
      copy.patientId = `P-9${String(rng.int(100_000)).padStart(5, '0')}`;
      break;
  }
  return JSON.stringify(copy);
}
