import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { isVigilError, type VigilError } from '@vigil/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BronzeRecord } from './bronze.js';
import { buildCatalog } from './catalog-config.js';
import { readParquet } from './duckdb-session.js';
import {
  buildExpectationSuite,
  defaultExpectationSuite,
  expectationsConfigSchema,
  FIXED_CHECK_NAMES,
} from './expectations.js';
import { createMedallion, type Medallion } from './medallion.js';
import type { SilverResult } from './silver.js';
import { QUARANTINE_REASONS } from './silver-rules.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 2, 8);
const TOPIC: Record<string, string> = {
  vital: 'vitals',
  lab: 'labs',
  symptom: 'symptoms',
  enrolment: 'enrolments',
  adverse_event: 'adverse-events',
};

type Ev = Record<string, unknown> & { kind: string; patientId: string };
let n = 0;
/** An event as a producer sends it; the site (record key) is taken from `siteId`. */
function ev(
  kind: string,
  patientId: string,
  at: number,
  fields: Record<string, unknown>,
  site = 'site-01',
): Ev {
  const iso = new Date(at).toISOString();
  return {
    eventId: `e-${++n}`,
    kind,
    patientId,
    siteId: site,
    observedAt: iso,
    recordedAt: iso,
    origin: 'site',
    ...fields,
  };
}
const enrol = (p: string, age: number, site = 'site-01') =>
  ev('enrolment', p, T0 - DAY, { age, sex: 'F', arm: 'placebo' }, site);
const lab = (p: string, day: number, measure: string, value: number, unit: string) =>
  ev('lab', p, T0 + day * DAY, { measure, value, unit }, p === 'P-2' ? 'site-02' : 'site-01');
const vital = (p: string, at: number, measure: string, value: number, unit: string) =>
  ev('vital', p, at, { measure, value, unit }, p === 'P-2' ? 'site-02' : 'site-01');

const CATALOG = buildCatalog({
  measures: [
    {
      name: 'platelets',
      kind: 'lab',
      unit: '10^9/L',
      units: { '/mm3': { factor: 0.001 } },
      range: [1, 2000],
    },
  ],
  signs: [{ name: 'jaundice', scale: 'binary' }],
});

const EXPECTATIONS = [
  { name: 'adult', kind: 'enrolment', column: 'age', between: { min: 18 } },
  { name: 'one_enrolment', kind: 'enrolment', column: 'patientId', unique: true },
  { name: 'patient_code', column: 'patientId', regex: '^P-\\d$' },
  { name: 'fever_cap', measure: 'temperature', between: { max: 40 } },
  { name: 'known_terms', kind: 'adverse_event', column: 'term', inSet: ['rash', 'hepatitis'] },
  { name: 'grade_levels', kind: 'adverse_event', column: 'grade', inSet: [1, 2, 3] },
  { name: 'symptom_term', sign: 'jaundice', column: 'term', notNull: true },
  { name: 'one_weight_per_time', measure: 'weight', column: 'observedAt', unique: { with: ['patientId'] } },
  { name: 'alt_rate', measure: 'alt', rateOfChange: { max: 500, per: '1d' } },
];

const ALT: [string, number, number][] = [
  // patient, day, value: P-1 spikes once (fails alone), P-2 climbs fast twice in a row.
  ['P-1', 0, 40],
  ['P-1', 1, 42],
  ['P-1', 2, 900],
  ['P-1', 3, 45],
  ['P-1', 3.5, 250],
  ['P-2', 0, 30],
  ['P-2', 0.5, 200],
  ['P-2', 1, 1000],
  ['P-2', 2, 1200],
];

const events: Ev[] = [
  enrol('P-1', 54),
  enrol('P-2', 61, 'site-02'),
  enrol('P-3', 15), // not an adult → its events are unknown_patient
  enrol('P-1', 54), // second enrolment of P-1 → one_enrolment
  enrol('Q-9', 40), // patient_code
  ev('vital', 'P-3', T0, { measure: 'heart_rate', value: 70, unit: 'bpm' }),
  ...ALT.map(([p, day, v]) => lab(p, day, 'alt', v, 'U/L')),
  lab('P-1', 0, 'platelets', 250, '10^9/L'),
  lab('P-1', 1, 'platelets', 180_000, '/mm3'), // 180 after normalisation
  lab('P-1', 2, 'platelets', 5_000_000, '/mm3'), // 5000 → out_of_range (catalogue)
  lab('P-1', 3, 'platelets', 250, '10^3/µL'), // not an accepted unit → unknown_unit
  lab('P-1', 4, 'ferritin', 250, 'ng/mL'), // not in the catalogue → unknown_measure
  vital('P-1', T0, 'temperature', 100, '°F'), // 37.8 °C
  vital('P-1', T0 + DAY, 'temperature', 104.5, '°F'), // 40.3 °C → fever_cap
  vital('P-2', T0, 'temperature', 40, '°C'),
  vital('P-1', T0, 'weight', 70, 'kg'),
  vital('P-1', T0 + 3_600_000 * 5, 'weight', 71, 'kg'),
  vital('P-1', T0 + 3_600_000 * 5, 'weight', 156.5, 'lb'), // same time again → one_weight_per_time
  ev('symptom', 'P-1', T0, { symptom: 'jaundice', severity: 1, term: 'yellow' }),
  ev('symptom', 'P-1', T0 + DAY, { symptom: 'jaundice', severity: 1 }), // no term → symptom_term
  ev('symptom', 'P-1', T0 + 2 * DAY, { symptom: 'jaundice', severity: 2, term: 'x' }), // binary → out_of_range
  ev('symptom', 'P-1', T0, { symptom: 'fatigue', severity: 7 }),
  ev('symptom', 'P-1', T0, { symptom: 'hiccups', severity: 1 }), // unknown sign → invalid_value
  ev('adverse_event', 'P-1', T0 + DAY, { grade: 2, term: 'rash' }),
  ev('adverse_event', 'P-2', T0 + DAY, { grade: 2, term: 'fever' }, 'site-02'), // known_terms
  ev('adverse_event', 'P-2', T0 + 2 * DAY, { grade: 4, term: 'hepatitis' }, 'site-02'), // grade_levels
];

/** The rate rule computed independently: each reading against the previous accepted one. */
function expectedAltFailures(): number {
  let failures = 0;
  for (const patient of ['P-1', 'P-2']) {
    let prev: [number, number] | undefined;
    for (const [, day, v] of ALT.filter(([p]) => p === patient)) {
      if (prev && Math.abs(v - prev[1]) / (day - prev[0]) > 500) failures++;
      else prev = [day, v];
    }
  }
  return failures;
}

const records: BronzeRecord[] = events.map((e, i) => ({
  topic: TOPIC[e.kind]!,
  partition: 0,
  offset: String(i),
  key: String(e.siteId),
  value: new TextEncoder().encode(JSON.stringify(e)),
  timestamp: T0 + i,
}));

let dir: string;
let lake: LocalLakeStore;
let medallion: Medallion;
let db: DuckDBInstance;
let silver: SilverResult;

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
  }
}
async function from(prefix: string): Promise<string> {
  const objects = (await lake.list('main', prefix)).filter((o) => o.path.endsWith('.parquet'));
  return readParquet(await Promise.all(objects.map((o) => lake.locate('main', o.path))));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-expectations-'));
  lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
  medallion = await createMedallion({
    lake,
    workdir: join(dir, 'work'),
    catalog: CATALOG,
    expectations: buildExpectationSuite(EXPECTATIONS, CATALOG),
    reportDir: join(dir, 'runs', 'r1', 'validation'),
  });
  db = await DuckDBInstance.create(':memory:', { threads: '1' });
  await medallion.writeBronze('main', records);
  await lake.commit('main', 'bronze');
  silver = await medallion.buildSilver('main');
  await lake.commit('main', 'silver');
});

afterAll(async () => {
  db?.closeSync();
  await medallion?.close();
  await lake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('silver with a configured catalogue and expectations', () => {
  it('quarantines each failing row under the expectation’s name and field, and reconciles', async () => {
    expect(expectedAltFailures()).toBe(3);
    expect(silver.reasons).toEqual({
      adult: 1,
      alt_rate: 3,
      fever_cap: 1,
      grade_levels: 1,
      invalid_value: 1,
      known_terms: 1,
      one_enrolment: 1,
      one_weight_per_time: 1,
      out_of_range: 2,
      patient_code: 1,
      symptom_term: 1,
      unknown_measure: 1,
      unknown_patient: 1,
      unknown_unit: 1,
    });
    expect(silver.bronze).toBe(events.length);
    expect(silver.silver + silver.duplicates + silver.quarantined).toBe(silver.bronze);
    const q = await query(
      `SELECT reason, list(DISTINCT field) AS fields, count(*) AS n FROM ${await from('quarantine/')} GROUP BY reason`,
    );
    const fields = Object.fromEntries(q.map((r) => [r.reason, r.fields]));
    expect(fields).toMatchObject({
      adult: ['age'],
      one_enrolment: ['patientId'],
      patient_code: ['patientId'],
      fever_cap: ['value'],
      known_terms: ['term'],
      grade_levels: ['grade'],
      symptom_term: ['term'],
      one_weight_per_time: ['observedAt'],
      alt_rate: ['value'],
    });
    expect(q.reduce((a, r) => a + Number(r.n), 0)).toBe(silver.quarantined);
  });

  it('judges rate of change against the previous accepted reading', async () => {
    const kept = await query(
      `SELECT patient_id, value FROM ${await from('silver/labs/')} WHERE measure = 'alt' ORDER BY patient_id, observed_at`,
    );
    expect(kept.map((r) => `${r.patient_id}:${r.value}`)).toEqual([
      'P-1:40',
      'P-1:42',
      'P-1:45',
      'P-1:250',
      'P-2:30',
      'P-2:200',
    ]);
  });

  it('normalises configured measures with their unit variants', async () => {
    const rows = await query(
      `SELECT value, unit, reported_unit FROM ${await from('silver/labs/')} WHERE measure = 'platelets' ORDER BY observed_at`,
    );
    expect(rows).toEqual([
      { value: 250, unit: '10^9/L', reported_unit: '10^9/L' },
      { value: 180, unit: '10^9/L', reported_unit: '/mm3' },
    ]);
    const temps = await query(
      `SELECT value FROM ${await from('silver/vitals/')} WHERE measure = 'temperature' ORDER BY value`,
    );
    expect(temps.map((r) => Math.round(Number(r.value) * 100) / 100)).toEqual([37.78, 40]);
  });

  it('reports rows judged and failed per expectation and per site', async () => {
    const byName = Object.fromEntries(silver.expectations.map((e) => [e.name, e]));
    expect(silver.expectations.map((e) => e.name)).toEqual([
      ...FIXED_CHECK_NAMES.filter(
        (r) => !['unknown_patient', 'duplicate_event_id', 'future_timestamp'].includes(r),
      ),
      'adult',
      'patient_code',
      'fever_cap',
      'known_terms',
      'grade_levels',
      'symptom_term',
      'future_timestamp',
      'unknown_patient',
      'duplicate_event_id',
      'one_enrolment',
      'one_weight_per_time',
      'alt_rate',
    ]);
    expect(silver.expectations.reduce((a, e) => a + e.failed, 0)).toBe(silver.quarantined);
    for (const e of silver.expectations) expect(e.failed, e.name).toBe(silver.reasons[e.name] ?? 0);
    // adult judges the 5 enrolments; one_enrolment the 4 that passed (the under-age one failed earlier).
    expect(byName.adult).toMatchObject({ evaluated: 5, failed: 1 });
    expect(byName.one_enrolment).toMatchObject({ evaluated: 3, failed: 1 });
    // Every ALT reading reaches the rate rule; site-02 holds P-2's readings.
    expect(byName.alt_rate).toEqual({
      name: 'alt_rate',
      evaluated: 9,
      failed: 3,
      bySite: { 'site-01': { evaluated: 5, failed: 1 }, 'site-02': { evaluated: 4, failed: 2 } },
    });
    expect(byName.fever_cap!.bySite).toEqual({
      'site-01': { evaluated: 2, failed: 1 },
      'site-02': { evaluated: 1, failed: 0 },
    });
  });

  it('writes a JSON and an HTML validation report', async () => {
    expect(silver.report).toEqual({
      json: join(dir, 'runs', 'r1', 'validation', 'validation.json'),
      html: join(dir, 'runs', 'r1', 'validation', 'validation.html'),
    });
    const json = JSON.parse(await readFile(silver.report!.json, 'utf8'));
    expect(json).toMatchObject({ branch: 'main', bronze: events.length, sites: ['site-01', 'site-02'] });
    const rate = json.expectations.find((e: { name: string }) => e.name === 'alt_rate');
    expect(rate.passRate).toBeCloseTo(6 / 9, 12);
    expect(rate.bySite['site-02'].passRate).toBe(0.5);
    const html = await readFile(silver.report!.html, 'utf8');
    expect(html).toContain('<code>alt_rate</code>');
    expect(html).toContain('66.66%');
    expect(html).toContain('reconciled');
  });
});

describe('expectation config', () => {
  const issues = (config: unknown, catalog = CATALOG) => {
    try {
      buildExpectationSuite(config, catalog);
    } catch (error) {
      expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
      return ((error as VigilError).details!.issues as { path: string; message: string }[]).map(
        (i) => `${i.path}: ${i.message}`,
      );
    }
    return [];
  };

  it('reports every problem with its path', () => {
    expect(
      issues([
        { name: 'a', column: 'colour', inSet: ['red'] },
        { name: 'b', column: 'age', between: { min: 5, max: 1 } },
        { name: 'c', column: 'age', notNull: true, regex: 'x' },
        { name: 'd', column: 'age', rateOfChange: { max: 1, per: '1d' } },
        { name: 'out_of_range', column: 'age', notNull: true },
        { name: 'f', column: 'siteId', regex: '(' },
        { name: 'g', measure: 'alt', rateOfChange: { max: 1, per: 'daily' } },
        { name: 'h', column: 'age', unique: { with: ['colour'] } },
      ]),
    ).toEqual([
      expect.stringMatching(/^job\.data\.expectations\.0\.column: unknown field 'colour'/),
      'job.data.expectations.1.between: min 5 is greater than max 1',
      'job.data.expectations.2: give exactly one of notNull, between, inSet, unique, regex, rateOfChange (found notNull, regex)',
      'job.data.expectations.3.rateOfChange: rateOfChange needs a measure',
      'job.data.expectations.3.column: rateOfChange judges a measure’s value; remove column',
      'job.data.expectations.4.name: this name is a built-in quarantine reason; choose another',
      'job.data.expectations.5.regex: not a valid regular expression',
      expect.stringMatching(/^job\.data\.expectations\.6\.rateOfChange\.per: expected a duration/),
      "job.data.expectations.7.unique.with.0: unknown field 'colour'",
    ]);
    expect(
      issues([
        { name: 'a', measure: 'ferritin', between: { max: 1 } },
        { name: 'b', measure: 'alt', kind: 'vital', between: { max: 1 } },
        { name: 'c', sign: 'hiccups', column: 'severity', between: { max: 1 } },
      ]),
    ).toEqual([
      expect.stringMatching(
        /^job\.data\.expectations\.0\.measure: unknown measure 'ferritin' \(known: .*platelets/,
      ),
      "job.data.expectations.1.kind: 'alt' is a lab, not a vital",
      expect.stringMatching(/^job\.data\.expectations\.2\.sign: unknown sign 'hiccups'/),
    ]);
  });

  it('appends configured expectations to the built-in suite', () => {
    const suite = buildExpectationSuite([
      { name: 'alt_rate', measure: 'alt', rateOfChange: { max: 500, per: '1d' } },
    ]);
    expect(suite.slice(0, -1)).toEqual(defaultExpectationSuite());
    expect(suite.at(-1)).toEqual({
      name: 'alt_rate',
      measure: 'alt',
      column: 'value',
      rule: { type: 'rate_of_change', max: 500, perSeconds: 86_400 },
    });
    expect(buildExpectationSuite(undefined)).toEqual(defaultExpectationSuite());
  });

  it('names the fixed checks the same as the quarantine reasons', () => {
    expect([...FIXED_CHECK_NAMES]).toEqual(Object.keys(QUARANTINE_REASONS));
    expect(expectationsConfigSchema.description).toMatch(
      /notNull, between, inSet, unique, regex, rateOfChange/,
    );
  });
});
