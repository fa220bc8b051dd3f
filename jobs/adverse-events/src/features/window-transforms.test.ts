import { DuckDBInstance } from '@duckdb/node-api';
import { createRng } from '@vigil/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog } from '../medallion/catalog-config.js';
import { compileFeatureDefinitions } from './feature-definitions.js';
import { featuresConfigSchema } from './features-config.js';
import { WindowState } from './window-state.js';
import { windowTableSql } from './window-table.js';

const H = 3_600_000;
const D = 24 * H;
const START = Date.UTC(2026, 0, 5);

const CATALOG = buildCatalog({
  measures: [
    { name: 'platelets', kind: 'lab', unit: '10^9/L', range: [1, 2000] },
    { name: 'egfr_baseline', kind: 'lab', unit: 'mL/min', range: [1, 200], static: true },
  ],
});

const DEFINITIONS = compileFeatureDefinitions(
  featuresConfigSchema.parse({
    entities: [{ name: 'patient', joinKey: 'patient_id' }],
    views: [
      {
        name: 'labs_window',
        entities: ['patient'],
        version: 1,
        input: { path: 'silver/labs/', topic: 'labs' },
        features: [
          { name: 'alt_dev', transform: { kind: 'baseline', of: 'alt', period: '7d' } },
          {
            name: 'alt_dev_mean',
            transform: { kind: 'baseline', of: 'alt', period: '7d', fn: 'mean', window: '3d' },
          },
          { name: 'alt_roc', transform: { kind: 'rate', of: 'alt', window: '7d' } },
          { name: 'alt_high', transform: { kind: 'threshold', of: 'alt', above: 120 } },
          {
            name: 'plt_low',
            transform: { kind: 'threshold', of: 'platelets', below: 50, fn: 'min', window: '2d' },
          },
          { name: 'alt_x_high', transform: { kind: 'interaction', of: ['alt_roc', 'alt_high'] } },
          { name: 'plt_missing', transform: { kind: 'missing', of: 'platelets', window: '4d' } },
          { name: 'since_plt', transform: { kind: 'since', of: 'platelets', unit: 'h' } },
          { name: 'egfr0', transform: { kind: 'static', of: 'egfr_baseline' } },
        ],
      },
    ],
  }),
  CATALOG,
);
const NAMES = DEFINITIONS.windowed[0]!.features.map((f) => f.name);

interface Reading {
  patient: string;
  ts: number;
  measure: string;
  value: number;
}

/** Three patients over ~3 weeks: ALT drifting with spikes, sparse platelets, one eGFR at enrolment. */
function readings(seed: number): Reading[] {
  const rng = createRng(seed);
  const out: Reading[] = [];
  for (let p = 1; p <= 3; p++) {
    const patient = `P-${p}`;
    let t = START + rng.int(6 * H);
    if (p !== 3) out.push({ patient, ts: t, measure: 'egfr_baseline', value: 60 + rng.int(40) });
    let alt = 25 + rng.int(30);
    for (let i = 0; i < 14; i++) {
      t += H + rng.int(40 * H);
      alt = Math.max(5, alt + (rng.next() < 0.15 ? 120 : -10 + rng.int(25)));
      out.push({ patient, ts: t, measure: 'alt', value: alt });
      if (rng.next() < 0.35)
        out.push({ patient, ts: t + 30 * 60_000, measure: 'platelets', value: 20 + rng.int(300) });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** The features computed by hand, straight from their definitions, at every reading. */
function byHand(all: readonly Reading[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const sorted = [...all].sort((a, b) =>
    a.patient < b.patient ? -1 : a.patient > b.patient ? 1 : a.ts - b.ts,
  );
  for (const row of sorted) {
    const t = row.ts;
    const mine = all.filter((r) => r.patient === row.patient);
    const upTo = (m: string) => mine.filter((r) => r.measure === m && r.ts <= t).sort((a, b) => a.ts - b.ts);
    const within = (m: string, ms: number) => upTo(m).filter((r) => r.ts >= t - ms);
    const latest = (m: string) => upTo(m).at(-1);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    const firstAlt = Math.min(...mine.filter((r) => r.measure === 'alt').map((r) => r.ts));
    const baseline = mean(
      upTo('alt')
        .filter((r) => r.ts < firstAlt + 7 * D)
        .map((r) => r.value),
    );
    const lastAlt = latest('alt')?.value ?? null;
    const mean3d = mean(within('alt', 3 * D).map((r) => r.value));
    const week = within('alt', 7 * D);
    const dt = week.length >= 2 ? week.at(-1)!.ts - week[0]!.ts : 0;
    const roc = dt > 0 ? (week.at(-1)!.value - week[0]!.value) / (dt / D) : null;
    const high = lastAlt !== null && lastAlt > 120 ? 1 : 0;
    const plt2d = within('platelets', 2 * D).map((r) => r.value);
    const lastPlt = latest('platelets');
    rows.push({
      patient_id: row.patient,
      event_timestamp: t,
      alt_dev: lastAlt !== null && baseline !== null ? lastAlt - baseline : null,
      alt_dev_mean: mean3d !== null && baseline !== null ? mean3d - baseline : null,
      alt_roc: roc,
      alt_high: high,
      plt_low: plt2d.length && Math.min(...plt2d) < 50 ? 1 : 0,
      alt_x_high: roc === null ? null : roc * high,
      plt_missing: within('platelets', 4 * D).length === 0 ? 1 : 0,
      since_plt: lastPlt ? (t - lastPlt.ts) / H : null,
      egfr0: latest('egfr_baseline')?.value ?? null,
    });
  }
  return rows;
}

function expectClose(actual: Record<string, unknown>[], expected: Record<string, unknown>[], label: string) {
  expect(actual.length, label).toBe(expected.length);
  actual.forEach((row, i) => {
    const want = expected[i]!;
    for (const key of Object.keys(want)) {
      const a = row[key];
      const b = want[key];
      const ok =
        typeof a === 'number' && typeof b === 'number'
          ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))
          : a === b;
      if (!ok)
        throw new Error(
          `${label} row ${i} (${want.patient_id} @ ${want.event_timestamp}) ${key}: ${a} ≠ ${b}`,
        );
    }
  });
}

let db: DuckDBInstance;
beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:', { threads: '1' });
});
afterAll(() => db?.closeSync());

async function batch(all: readonly Reading[]): Promise<Record<string, unknown>[]> {
  const c = await db.connect();
  try {
    await c.run(
      'CREATE OR REPLACE TABLE readings (patient_id VARCHAR, observed_at TIMESTAMP, measure VARCHAR, value DOUBLE)',
    );
    const values = all
      .map(
        (r) =>
          `('${r.patient}', TIMESTAMP '${new Date(r.ts).toISOString().replace('T', ' ').replace('Z', '')}', '${r.measure}', ${r.value})`,
      )
      .join(', ');
    await c.run(`INSERT INTO readings VALUES ${values}`);
    const rows = (
      await c.runAndReadAll(windowTableSql(DEFINITIONS.windowed[0]!, 'readings'))
    ).getRowObjectsJS();
    return rows.map((r) => ({
      ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
      event_timestamp: (r.event_timestamp as Date).getTime(),
    }));
  } finally {
    c.closeSync();
  }
}

function streaming(all: readonly Reading[]): Record<string, unknown>[] {
  const states = new Map<string, WindowState>();
  const rows: Record<string, unknown>[] = [];
  for (const r of all) {
    let state = states.get(r.patient);
    if (!state) {
      state = new WindowState(DEFINITIONS.windowed[0]!.features);
      states.set(r.patient, state);
    }
    state.add(r.ts, r.measure, r.value);
    const values = state.valuesAt(r.ts);
    rows.push({
      patient_id: r.patient,
      event_timestamp: r.ts,
      ...Object.fromEntries(NAMES.map((n, i) => [n, values[i]])),
    });
  }
  return rows.sort((a, b) =>
    a.patient_id === b.patient_id
      ? Number(a.event_timestamp) - Number(b.event_timestamp)
      : String(a.patient_id) < String(b.patient_id)
        ? -1
        : 1,
  );
}

describe('window transforms', () => {
  it.each([1, 2, 3])(
    'batch SQL and the streaming state equal the features computed by hand (seed %i)',
    async (seed) => {
      const all = readings(seed);
      const expected = byHand(all);
      // Not vacuous: every kind takes both null/0 and real values somewhere.
      for (const name of ['alt_dev', 'alt_roc', 'since_plt', 'egfr0', 'alt_x_high']) {
        expect(expected.some((r) => r[name] === null) || name === 'alt_dev', name).toBe(true);
        expect(
          expected.some((r) => typeof r[name] === 'number' && r[name] !== 0),
          name,
        ).toBe(true);
      }
      for (const name of ['alt_high', 'plt_low', 'plt_missing']) {
        expect(new Set(expected.map((r) => r[name])), name).toEqual(new Set([0, 1]));
      }
      expectClose(await batch(all), expected, `batch seed ${seed}`);
      expectClose(streaming(all), expected, `streaming seed ${seed}`);
    },
  );

  it('uses nothing observed after a row (point in time): truncating the data leaves earlier rows unchanged', async () => {
    const all = readings(7);
    const cut = START + 9 * D;
    const full = await batch(all);
    const before = await batch(all.filter((r) => r.ts <= cut));
    expect(before.length).toBeGreaterThan(10);
    expectClose(
      before,
      full.filter((r) => Number(r.event_timestamp) <= cut),
      'truncated',
    );
  });

  it('streaming takes a late reading in timestamp order', () => {
    const features = DEFINITIONS.windowed[0]!.features;
    const inOrder = new WindowState(features);
    const late = new WindowState(features);
    const rs: [number, string, number][] = [
      [START, 'alt', 30],
      [START + D, 'platelets', 40],
      [START + 2 * D, 'alt', 200],
      [START + 3 * D, 'alt', 60],
    ];
    for (const r of rs) inOrder.add(...r);
    for (const r of [rs[0]!, rs[2]!, rs[3]!, rs[1]!]) late.add(...r);
    expect(late.valuesAt(START + 3 * D)).toEqual(inOrder.valuesAt(START + 3 * D));
    const [dev, , roc, high, low, , missing, since] = inOrder.valuesAt(START + 3 * D);
    expect(dev).toBeCloseTo(60 - (30 + 200 + 60) / 3, 12);
    expect(roc).toBeCloseTo((60 - 30) / 3, 12);
    expect([high, low, missing, since]).toEqual([0, 1, 0, 48]);
  });
});
