import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { isVigilError } from '@vigil/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALFORMED_KIND_NAMES, MALFORMED_KINDS } from '../simulator/mess.js';
import { type SimulatedEvent, type SimulationResult, simulateTrial } from '../simulator/simulate-trial.js';
import type { BronzeRecord } from './bronze.js';
import { readParquet } from './duckdb-session.js';
import type { GoldResult } from './gold.js';
import { createMedallion, type Medallion } from './medallion.js';
import { PATIENT_DAY_FEATURES } from './patient-day-features.js';
import type { SilverResult } from './silver.js';

const encoder = new TextEncoder();
const DAY_MS = 86_400_000;
const START = Date.UTC(2026, 0, 5);

/** Records as a consumer would see them: per-topic offsets, one partition per site. */
function toRecords(events: readonly SimulatedEvent[]): BronzeRecord[] {
  const next = new Map<string, number>();
  return events.map((e, i) => {
    const partition = Number(e.key.slice(-2)) - 1;
    const id = `${e.topic}/${partition}`;
    const offset = next.get(id) ?? 0;
    next.set(id, offset + 1);
    return {
      topic: e.topic,
      partition,
      offset: String(offset),
      key: e.key,
      value: encoder.encode(e.value),
      timestamp: START + i,
    };
  });
}

let dir: string;
let lake: LocalLakeStore;
let medallion: Medallion;
let db: DuckDBInstance;
let sim: SimulationResult;
let records: BronzeRecord[];
let silver: SilverResult;
let gold: GoldResult;
const writes: { rows: number; skipped: number; paths: string[] }[] = [];

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const connection = await db.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

/** `read_parquet(...)` over the objects under a prefix at a ref. */
async function from(ref: string, prefix: string): Promise<string> {
  const objects = (await lake.list(ref, prefix)).filter((o) => o.path.endsWith('.parquet'));
  return readParquet(await Promise.all(objects.map((o) => lake.locate(ref, o.path))));
}

async function runAll(
  branch: string,
  batches: BronzeRecord[][],
): Promise<{ silver: SilverResult; gold: GoldResult }> {
  await lake.createBranch(branch, 'main');
  for (const batch of batches) {
    const { rows, skipped, paths } = await medallion.writeBronze(branch, batch);
    writes.push({ rows, skipped, paths });
    await lake.commit(branch, 'bronze', { allowEmpty: true });
  }
  const s = await medallion.buildSilver(branch);
  await lake.commit(branch, 'silver');
  const g = await medallion.buildGold(branch);
  await lake.commit(branch, 'gold');
  return { silver: s, gold: g };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-medallion-'));
  lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
  medallion = await createMedallion({ lake, workdir: join(dir, 'work') });
  db = await DuckDBInstance.create(':memory:', { threads: '1' });
  sim = simulateTrial({ seed: 5, patients: 40, days: 30, sites: 4, mess: { malformedRate: 0.02 } });
  records = toRecords(sim.events);
  const n = records.length;
  // Batches overlap and one is re-delivered whole: bronze must hold each record once.
  ({ silver, gold } = await runAll('run', [
    records.slice(0, 3000),
    records.slice(2000, 6000),
    records.slice(2000, 6000),
    records.slice(6000, n),
    records.slice(0, n).reverse(),
  ]));
});

afterAll(async () => {
  db?.closeSync();
  await medallion?.close();
  await lake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('bronze', () => {
  it('keeps every record once, exactly as received, whatever the re-delivery', async () => {
    expect(writes.slice(0, 5)).toEqual([
      { rows: 3000, skipped: 0, paths: expect.any(Array) },
      { rows: 3000, skipped: 1000, paths: expect.any(Array) },
      { rows: 0, skipped: 4000, paths: [] },
      { rows: records.length - 6000, skipped: 0, paths: expect.any(Array) },
      { rows: 0, skipped: records.length, paths: [] },
    ]);
    const bronze = await from('run', 'bronze/');
    const [row] = await query(
      `SELECT count(*) AS n, count(DISTINCT (topic, "partition", "offset")) AS keys FROM ${bronze}`,
    );
    expect(Number(row?.n)).toBe(records.length);
    expect(Number(row?.keys)).toBe(records.length);
    const payloads = await query(`SELECT payload FROM ${bronze} ORDER BY topic, "partition", "offset"`);
    expect(new Set(payloads.map((r) => r.payload))).toEqual(new Set(sim.events.map((e) => e.value)));
  });

  it('is partitioned by ingestion date and site, with unparsable payloads under site=_unparsed', async () => {
    const paths = (await lake.list('run', 'bronze/'))
      .map((o) => o.path)
      .filter((p) => p.endsWith('.parquet'));
    for (const path of paths) {
      expect(path).toMatch(/^bronze\/date=\d{4}-\d{2}-\d{2}\/site=(site-\d{2}|_unparsed)\/.+\.parquet$/);
    }
    expect(paths.some((p) => /^bronze\/date=[^/]+\/site=site-03\//.test(p))).toBe(true);
    const unparsed = await query(
      `SELECT count(*) AS n FROM ${await from('run', 'bronze/')} WHERE _unparsed AND site = '_unparsed' AND site_id IS NULL`,
    );
    expect(Number(unparsed[0]?.n)).toBe(sim.stats.malformedByKind.bad_json);
    const [sample] = await query(
      `SELECT site_id, observed_date, kind, key FROM ${await from('run', 'bronze/')} WHERE kind = 'lab' AND NOT _unparsed LIMIT 1`,
    );
    expect(sample).toMatchObject({ kind: 'lab', key: sample?.site_id });
    expect(sample?.observed_date).toBeInstanceOf(Date);
  });
});

describe('silver', () => {
  it('reconciles: bronze = silver + duplicates + quarantined', async () => {
    expect(silver.bronze).toBe(records.length);
    expect(silver.silver + silver.duplicates + silver.quarantined).toBe(silver.bronze);
    let tableRows = 0;
    for (const table of Object.keys(silver.tables)) {
      const [row] = await query(`SELECT count(*) AS n FROM ${await from('run', `silver/${table}/`)}`);
      expect(Number(row?.n)).toBe(silver.tables[table as keyof typeof silver.tables]);
      tableRows += Number(row?.n);
    }
    expect(tableRows).toBe(silver.silver);
    const [q] = await query(`SELECT count(*) AS n FROM ${await from('run', 'quarantine/')}`);
    expect(Number(q?.n)).toBe(silver.quarantined);
    expect(Object.values(silver.reasons).reduce((a, b) => a + b, 0)).toBe(silver.quarantined);
  });

  it('quarantines each malformed kind with its reason, field and raw payload', async () => {
    for (const kind of MALFORMED_KIND_NAMES) {
      expect(sim.stats.malformedByKind[kind], kind).toBeGreaterThan(0);
      expect(silver.reasons[MALFORMED_KINDS[kind].reason], kind).toBe(sim.stats.malformedByKind[kind]);
    }
    expect(silver.reasons.duplicate_event_id ?? 0).toBe(sim.stats.resent);
    const quarantine = await from('run', 'quarantine/');
    const fields = await query(
      `SELECT reason, list(DISTINCT field) AS fields FROM ${quarantine} GROUP BY reason`,
    );
    const byReason = Object.fromEntries(fields.map((r) => [r.reason, [...(r.fields as unknown[])].sort()]));
    expect(byReason.invalid_json).toEqual([null]);
    expect(byReason.missing_unit).toEqual(['unit']);
    expect(byReason.future_timestamp).toEqual(['observedAt']);
    expect(byReason.unknown_patient).toEqual(['patientId']);
    expect(byReason.duplicate_event_id).toEqual(['eventId']);
    for (const field of byReason.out_of_range ?? []) expect(['value', 'doseMg', 'severity']).toContain(field);
    const raw = await query(`SELECT raw, stage FROM ${quarantine}`);
    const sent = new Set(sim.events.map((e) => e.value));
    for (const row of raw) {
      expect(sent.has(String(row.raw))).toBe(true);
      expect(row.stage).toBe('silver');
    }
  });

  it('normalises units: kg, °C and mg/dL, whatever the site reported', async () => {
    const vitals = await from('run', 'silver/vitals/');
    const [w] = await query(
      `SELECT max(value) AS max, min(value) AS min, list(DISTINCT unit) AS units FROM ${vitals} WHERE measure = 'weight'`,
    );
    expect(Number(w?.max)).toBeLessThanOrEqual(300);
    expect(Number(w?.min)).toBeGreaterThanOrEqual(25);
    expect(w?.units).toEqual(['kg']);
    const temps = await query(
      `SELECT site_id, avg(value) AS mean, min(value) AS lo, max(value) AS hi, list(DISTINCT unit) AS units,
         list(DISTINCT reported_unit) AS reported
       FROM ${vitals} WHERE measure = 'temperature' GROUP BY site_id ORDER BY site_id`,
    );
    expect(temps).toHaveLength(4);
    for (const t of temps) {
      expect(t.units).toEqual(['°C']);
      expect(Number(t.lo)).toBeGreaterThan(34);
      expect(Number(t.hi)).toBeLessThan(42);
      expect(Math.abs(Number(t.mean) - 37)).toBeLessThan(0.6);
    }
    expect(temps.find((t) => t.site_id === 'site-03')?.reported).toEqual(['°F']);
    const [f] = await query(
      `SELECT max(abs(value - (reported_value - 32) * 5 / 9)) AS err FROM ${vitals} WHERE reported_unit = '°F'`,
    );
    expect(Number(f?.err)).toBeLessThan(1e-9);
    const creat = await query(
      `SELECT site_id = 'site-02' AS umol, max(value) AS hi, list(DISTINCT unit) AS units FROM ${await from('run', 'silver/labs/')}
       WHERE measure = 'creatinine' GROUP BY ALL ORDER BY umol`,
    );
    for (const c of creat) {
      expect(c.units).toEqual(['mg/dL']);
      expect(Number(c.hi)).toBeLessThan(3);
    }
  });

  it('deduplicates a reading seen from two origins, keeping the EHR copy', async () => {
    expect(sim.stats.duplicates).toBeGreaterThan(10);
    expect(silver.duplicates).toBe(sim.stats.duplicates);
    const vitals = await from('run', 'silver/vitals/');
    const [ehr] = await query(`SELECT count(*) AS n FROM ${vitals} WHERE origin = 'ehr'`);
    expect(Number(ehr?.n)).toBe(sim.stats.duplicates);
    const sentEhr = sim.events
      .filter((e) => e.topic === 'vitals' && e.value.includes('"origin":"ehr"'))
      .map((e) => (JSON.parse(e.value) as { eventId: string }).eventId)
      .sort();
    const keptEhr = (
      await query(`SELECT event_id FROM ${vitals} WHERE origin = 'ehr' ORDER BY event_id`)
    ).map((r) => r.event_id);
    expect(keptEhr).toEqual(sentEhr);
    const [close] = await query(`SELECT count(*) AS n FROM (
      SELECT observed_at - lag(observed_at) OVER (PARTITION BY patient_id, measure ORDER BY observed_at) AS gap
      FROM ${vitals}) WHERE gap <= INTERVAL 30 MINUTE`);
    expect(Number(close?.n)).toBe(0);
  });

  it('places late arrivals by when they were observed', async () => {
    const late = sim.events
      .filter((e) => e.topic === 'vitals')
      .map((e) => {
        try {
          return JSON.parse(e.value) as { eventId: string; observedAt: string; recordedAt: string };
        } catch {
          return null;
        }
      })
      .filter((o) => o !== null && Date.parse(o.recordedAt) - Date.parse(o.observedAt) > DAY_MS);
    expect(late.length).toBeGreaterThan(0);
    const rows = await query(
      `SELECT event_id, observed_at, late FROM ${await from('run', 'silver/vitals/')} WHERE late ORDER BY event_id`,
    );
    const observed = new Map(rows.map((r) => [r.event_id, (r.observed_at as Date).getTime()]));
    let found = 0;
    for (const o of late) {
      const at = observed.get(o!.eventId);
      if (at === undefined) continue; // superseded by an EHR copy
      expect(at).toBe(Date.parse(o!.observedAt));
      found++;
    }
    expect(found).toBeGreaterThan(late.length / 2);
    expect(rows.length).toBe(found);
  });
});

describe('gold', () => {
  it('has one row per patient per day, from enrolment, valid at the end of the day', async () => {
    expect(gold.patients).toBe(40);
    const patientDay = await from('run', 'gold/patient_day/');
    const [row] = await query(`SELECT count(*) AS n, count(DISTINCT (patient_id, event_timestamp)) AS keys,
        count(*) FILTER (WHERE CAST(event_timestamp AS TIME) <> TIME '00:00:00') AS not_midnight,
        count(*) FILTER (WHERE created_timestamp < event_timestamp) AS created_early
      FROM ${patientDay}`);
    expect(Number(row?.n)).toBe(gold.patientDays);
    expect(Number(row?.keys)).toBe(gold.patientDays);
    expect(Number(row?.not_midnight)).toBe(0);
    expect(Number(row?.created_early)).toBe(0);
    const spans = await query(`SELECT p.patient_id, count(*) AS days, min(d.event_timestamp) AS first,
        max(d.event_timestamp) AS last, any_value(p.enrolled_at) AS enrolled
      FROM ${patientDay} d JOIN ${await from('run', 'gold/patients/')} p USING (patient_id) GROUP BY p.patient_id`);
    expect(spans).toHaveLength(40);
    for (const s of spans) {
      const first = (s.first as Date).getTime();
      expect(first).toBe(START + DAY_MS);
      expect(((s.last as Date).getTime() - first) / DAY_MS + 1).toBe(Number(s.days));
      expect((s.enrolled as Date).getTime()).toBeLessThan(first);
    }
  });

  it('has exactly the documented feature columns with their types', async () => {
    const columns = await query(`DESCRIBE SELECT * FROM ${await from('run', 'gold/patient_day/')}`);
    const types = Object.fromEntries(columns.map((c) => [c.column_name, c.column_type]));
    expect(Object.keys(types)).toEqual([
      'patient_id',
      'site_id',
      'event_timestamp',
      'created_timestamp',
      ...PATIENT_DAY_FEATURES.map((f) => f.name),
    ]);
    expect(types.event_timestamp).toBe('TIMESTAMP');
    for (const f of PATIENT_DAY_FEATURES)
      expect(types[f.name], f.name).toBe(f.dtype === 'float64' ? 'DOUBLE' : 'BIGINT');
    const [stats] =
      await query(`SELECT avg(hr_missing) AS hr_missing, avg(hr_mean_24h) AS hr, max(alt) AS alt,
        max(days_since_lab) AS since_lab, avg(adherence_7d) AS adherence, count(hr_var_24h) AS var_n
      FROM ${await from('run', 'gold/patient_day/')}`);
    expect(Number(stats?.hr_missing)).toBeGreaterThan(0);
    expect(Number(stats?.hr_missing)).toBeLessThan(0.2);
    expect(Number(stats?.hr)).toBeGreaterThan(55);
    expect(Number(stats?.hr)).toBeLessThan(100);
    expect(Number(stats?.alt)).toBeGreaterThan(10);
    expect(Number(stats?.since_lab)).toBeLessThan(20);
    expect(Number(stats?.adherence)).toBeGreaterThan(0.6);
    expect(Number(stats?.var_n)).toBeGreaterThan(0);
  });

  it('writes outcomes and patients', async () => {
    const outcomes = await query(`SELECT * FROM ${await from('run', 'gold/outcomes/')}`);
    const reported = sim.events.filter((e) => e.topic === 'adverse-events').map((e) => JSON.parse(e.value));
    expect(outcomes).toHaveLength(new Set(reported.map((e) => e.eventId)).size);
    expect(outcomes.filter((o) => Number(o.grade) >= 2)).toHaveLength(sim.stats.adverseEvents);
    const patients = await query(`SELECT * FROM ${await from('run', 'gold/patients/')}`);
    expect(Object.keys(patients[0] ?? {})).toEqual([
      'patient_id',
      'site_id',
      'enrolled_at',
      'age',
      'sex',
      'arm',
      'treated',
      'female',
    ]);
    // The numeric baseline features agree with the enrolment events they come from.
    const enrolled = new Map(
      sim.events
        .filter((e) => e.topic === 'enrolments' || e.value.includes('"kind":"enrolment"'))
        .map((e) => JSON.parse(e.value) as { patientId: string; arm: string; sex: string })
        .map((e) => [e.patientId, e]),
    );
    expect(patients.length).toBeGreaterThan(0);
    for (const p of patients) {
      const e = enrolled.get(String(p.patient_id))!;
      expect(Number(p.treated)).toBe(e.arm === 'treatment' ? 1 : 0);
      expect(Number(p.female)).toBe(e.sex === 'F' ? 1 : 0);
    }
  });

  it.each([4, 15])(
    'uses no data observed after a row’s event_timestamp (leakage, cut at day %i)',
    async (day) => {
      // Rebuild from only the events observed before a cutoff; every row known by then must be identical.
      const cutoff = START + day * DAY_MS;
      const before = sim.events.filter((e) => {
        const m = /"observedAt":"([^"]+)"/.exec(e.value);
        return m !== null && Date.parse(m[1]!) < cutoff;
      });
      expect(before.length).toBeLessThan(sim.events.length * 0.7);
      await runAll(`cut-${day}`, [toRecords(before)]);
      const full = await from('run', 'gold/patient_day/');
      const cut = await from(`cut-${day}`, 'gold/patient_day/');
      const compare = PATIENT_DAY_FEATURES.map((f) => `c.${f.name} IS DISTINCT FROM f.${f.name}`).join(
        ' OR ',
      );
      const [row] = await query(`SELECT count(*) AS n, count(f.patient_id) AS matched,
        count(*) FILTER (WHERE ${compare}) AS differ
      FROM ${cut} c LEFT JOIN ${full} f USING (patient_id, event_timestamp)
      WHERE c.event_timestamp <= TIMESTAMP '${new Date(cutoff).toISOString().slice(0, 19).replace('T', ' ')}'`);
      expect(Number(row?.n)).toBeGreaterThan(0.7 * 40 * day);
      expect(Number(row?.matched)).toBe(Number(row?.n));
      expect(Number(row?.differ)).toBe(0);
    },
  );
});

describe('medallion', () => {
  it('refuses use after close, and close is idempotent', async () => {
    const other = await createMedallion({ lake, workdir: join(dir, 'other') });
    await other.close();
    await other.close();
    await expect(other.buildSilver('run')).rejects.toSatisfy((e) => isVigilError(e, 'VIGIL_KERNEL_CLOSED'));
  });

  it('rejects a record without a usable offset, naming the field', async () => {
    const bad = { ...records[0]!, offset: 'x' };
    await expect(medallion.writeBronze('run', [records[1]!, bad])).rejects.toSatisfy(
      (e) => isVigilError(e, 'VIGIL_DATA_INVALID_EVENT') && /records\[1\]\.offset/.test((e as Error).message),
    );
  });
});
