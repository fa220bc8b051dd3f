import { createRng, type Rng } from '@vigil/core';
import { materializeFeatures, StreamingFeaturePush } from '@vigil/job-adverse-events';
import { describe, expect, it } from 'vitest';
import {
  asRecords,
  openStore,
  type Reading,
  windowDefinitions,
  writeSilverVitals,
} from './window-fixture.js';

const START = Date.UTC(2026, 0, 5);
const HOUR = 3_600_000;

/**
 * Random readings: a few patients, each with readings at distinct times over ~10 days
 * (gaps from minutes to two days, so windows both fill and empty), arriving in time order
 * per patient and interleaved across patients. Some temperatures come in °F.
 */
function randomReadings(rng: Rng): Reading[] {
  const patients = 1 + rng.int(4);
  const all: Reading[] = [];
  for (let p = 0; p < patients; p++) {
    const patientId = `P-${String(p + 1).padStart(6, '0')}`;
    let t = START + rng.int(12 * HOUR);
    const n = 1 + rng.int(30);
    for (let i = 0; i < n; i++) {
      t += 60_000 + rng.int(rng.next() < 0.2 ? 48 * HOUR : 6 * HOUR);
      const u = rng.next();
      const measure = u < 0.6 ? 'heart_rate' : u < 0.8 ? 'spo2' : 'temperature';
      const canonical =
        measure === 'heart_rate'
          ? Math.round(50 + rng.next() * 70)
          : measure === 'spo2'
            ? Math.round((88 + rng.next() * 12) * 10) / 10
            : Math.round((36 + rng.next() * 3) * 10) / 10;
      const fahrenheit = measure === 'temperature' && rng.next() < 0.3;
      // Silver normalises °F with factor 5/9 and offset -32·5/9, as the measure catalog says.
      const reported = fahrenheit ? Math.round(((canonical * 9) / 5 + 32) * 10) / 10 : canonical;
      const unit = measure === 'heart_rate' ? 'bpm' : measure === 'spo2' ? '%' : fahrenheit ? '°F' : '°C';
      all.push({
        patientId,
        observedAt: new Date(t),
        measure,
        value: reported,
        unit,
        canonical: fahrenheit ? reported * (5 / 9) + (-32 * 5) / 9 : canonical,
      });
    }
  }
  // Interleave patients by time (per-patient order is what a partition preserves).
  return all.sort((a, b) => a.observedAt.getTime() - b.observedAt.getTime());
}

function close(a: unknown, b: unknown): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return a === b;
}

/** Materialise in batch and push as a stream into two stores; return both online answers. */
async function bothWays(readings: readonly Reading[], label: string) {
  const definitions = windowDefinitions();
  const refs = definitions.views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}` as const));
  const batch = await openStore();
  const stream = await openStore();
  try {
    // Batch: silver table → DuckDB window SQL → lake → materialise offline → online.
    await batch.store.apply(definitions.views);
    await writeSilverVitals(batch.lake, readings);
    const end = new Date(Math.max(...readings.map((r) => r.observedAt.getTime())));
    const result = await materializeFeatures({
      lake: batch.lake,
      store: batch.store,
      definitions,
      end,
      start: new Date(0),
      scratch: `${batch.ctx.workdir}/scratch`,
      runId: label,
    });
    expect(result.built.map((b) => b.rows)).toEqual([readings.length, readings.length]);
    // Streaming: raw events → incremental windows → push, in arrival order, in small batches.
    await stream.store.apply(definitions.views);
    const push = new StreamingFeaturePush({
      source: undefined as never,
      store: stream.store,
      windowed: definitions.windowed,
    });
    const records = asRecords(readings);
    for (let i = 0; i < records.length; i += 7) await push.process(records.slice(i, i + 7));
    expect(push.stats.skipped).toEqual({});
    const patients = [...new Set(readings.map((r) => r.patientId))].map((patient_id) => ({ patient_id }));
    const a = await batch.store.getOnlineFeatures({ features: refs, entityRows: patients });
    const b = await stream.store.getOnlineFeatures({ features: refs, entityRows: patients });
    expect(a.featureNames).toEqual(b.featureNames);
    a.rows.forEach((row, i) => {
      for (const name of a.featureNames) {
        if (!close(row[name], b.rows[i]![name])) {
          throw new Error(
            `${label}, ${name} of patient #${i}: batch ${row[name]} ≠ streaming ${b.rows[i]![name]}`,
          );
        }
      }
    });
    return { batch: a, stream: b, pushed: push.stats.pushed };
  } finally {
    await batch.close();
    await stream.close();
  }
}

describe('window features: batch materialisation and streaming push agree', () => {
  it('gives equal online values for the same random events (seeded)', async () => {
    let variances = 0;
    let pushed = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const out = await bothWays(randomReadings(createRng(seed)), `seed-${seed}`);
      expect(out.batch.rows.every((r) => typeof r.vitals_window__hr_count_24h === 'number')).toBe(true);
      variances += out.batch.rows.filter((r) => typeof r.vitals_window__hr_var_24h === 'number').length;
      pushed += out.pushed;
    }
    // Not vacuous: windows held several readings and rows were pushed.
    expect(variances).toBeGreaterThan(3);
    expect(pushed).toBeGreaterThan(30);
  });

  it('includes a reading exactly one window old, and empties windows after a gap', async () => {
    const at = (h: number) => new Date(START + h * HOUR);
    const hr = (h: number, v: number): Reading => ({
      patientId: 'P-000001',
      observedAt: at(h),
      measure: 'heart_rate',
      value: v,
      unit: 'bpm',
      canonical: v,
    });
    const spo2 = (id: string, h: number, v: number): Reading => ({
      patientId: id,
      observedAt: at(h),
      measure: 'spo2',
      value: v,
      unit: '%',
      canonical: v,
    });
    const out = await bothWays(
      [hr(0, 60), hr(12, 70), hr(24, 80), spo2('P-000002', 1, 97), spo2('P-000002', 100, 95)],
      'edges',
    );
    const [p1, p2] = out.batch.rows;
    expect(p1!.vitals_window__hr_count_24h).toBe(3);
    expect(p1!.vitals_window__hr_mean_24h).toBe(70);
    expect(p1!.vitals_window__hr_var_24h).toBe(100);
    expect(p1!.vitals_window__hr_min_7d).toBe(60);
    expect(p1!.vitals_window__spo2_last_24h).toBeNull();
    expect(p2!.vitals_window__hr_count_24h).toBe(0);
    expect(p2!.vitals_window__hr_mean_24h).toBeNull();
    expect(p2!.vitals_window__spo2_last_24h).toBe(95);
  });
});
