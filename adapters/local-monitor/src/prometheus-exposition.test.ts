import { spawnSync } from 'node:child_process';
import {
  averagePrecision,
  expectedCalibrationError,
  type Monitor,
  type MonitorWindow,
  psiTest,
} from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localMonitor } from './local-monitor-adapter.js';
import { LATENCY_BUCKETS } from './monitor-metrics.js';
import { pairCountAuroc, rawFeatureDrift, type Traffic, traffic } from './testing/monitor-data.js';
import { type Exposition, parseExposition, sampleValue } from './testing/parse-exposition.js';

const WINDOW_MS: Record<MonitorWindow, number> = { day: 86_400_000, week: 7 * 86_400_000 };
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

type Row = Traffic['predictions'][number];

let ctx: TestContext;
let monitor: Monitor;
let data: Traffic;
let text: string;
let exposition: Exposition;

/** The raw records of a version/window/site, selected here from the generated data. */
function slice(version: string, window: MonitorWindow, site: string | undefined): Row[] {
  const latest = Math.max(...data.predictions.map((p) => +p.at));
  return data.predictions.filter(
    (p) =>
      p.version === version &&
      (site === undefined || p.site === site) &&
      +p.at > latest - WINDOW_MS[window] &&
      +p.at <= latest,
  );
}

/** The labelled rows of a selection with their observed label, joined here from the raw outcomes. */
function labelledOf(rows: readonly Row[]): { score: number; label: 0 | 1 }[] {
  const outcome = new Map(data.outcomes.map((o) => [o.predictionId, o.label]));
  return rows.flatMap((r) => {
    const label = outcome.get(r.predictionId);
    return label === undefined ? [] : [{ score: r.score, label }];
  });
}

/**
 * The window gauges of a selection computed here, not by the monitor's evaluation code:
 * AUROC by pair counting, Brier, precision/recall at score ≥ 0.5 (the config default) and
 * the fallback share by hand, AUPRC and ECE (10 bins) by core's metric functions called
 * directly on the scores and labels selected above.
 */
function expectedGauges(rows: readonly Row[]): Record<string, number | null> {
  const labelled = labelledOf(rows);
  const scores = labelled.map((l) => l.score);
  const labels = labelled.map((l) => l.label);
  const positives = labels.filter((l) => l === 1).length;
  const flagged = labelled.filter((l) => l.score >= 0.5);
  const truePositives = flagged.filter((l) => l.label === 1).length;
  return {
    vigil_monitor_predictions: rows.length,
    vigil_monitor_labelled: labelled.length,
    vigil_monitor_auroc: pairCountAuroc(scores, labels),
    vigil_monitor_auprc: averagePrecision(scores, labels),
    vigil_monitor_brier: labelled.reduce((sum, l) => sum + (l.score - l.label) ** 2, 0) / labelled.length,
    vigil_monitor_ece: expectedCalibrationError(scores, labels, { bins: 10 }),
    vigil_monitor_precision: flagged.length === 0 ? null : truePositives / flagged.length,
    vigil_monitor_recall: positives === 0 ? null : truePositives / positives,
    vigil_monitor_fallback_rate: rows.filter((r) => r.fallback === true).length / rows.length,
  };
}

beforeAll(async () => {
  ctx = await createTestContext();
  monitor = await localMonitor.create(localMonitor.config.parse({}), ctx);
  data = traffic('ae', 1500, { stepMinutes: 12 }); // 1500 × 12 min ≈ 12.5 days
  await monitor.recordPredictions(data.predictions);
  await monitor.recordOutcomes(data.outcomes);
  await monitor.drift?.({
    model: 'ae',
    version: '1',
    reference: { until: new Date(+data.predictions[600]!.at) },
    window: 'week',
  });
  text = await monitor.metrics();
  exposition = parseExposition(text);
});

afterAll(async () => {
  await monitor?.close();
  await ctx?.cleanup();
});

describe('Prometheus exposition of the local monitor', () => {
  it('has a window gauge per version × window × site, each equal to the metric computed on the raw rows', async () => {
    let checked = 0;
    for (const version of ['1', '2'])
      for (const window of ['day', 'week'] as const)
        for (const site of [undefined, 'A', 'B', 'C']) {
          const rows = slice(version, window, site);
          const labels = { model: 'ae', version, window, site: site ?? 'all' };
          const expected = expectedGauges(rows);
          // integer counts are exact; the ratios may differ from the monitor's only by the
          // order of floating-point sums (≪ 1e-12 for ≤ 1500 terms in [0, 1])
          expect(sampleValue(exposition, 'vigil_monitor_predictions', labels), JSON.stringify(labels)).toBe(
            expected.vigil_monitor_predictions,
          );
          expect(sampleValue(exposition, 'vigil_monitor_labelled', labels)).toBe(
            expected.vigil_monitor_labelled,
          );
          for (const [metric, value] of Object.entries(expected)) {
            if (metric === 'vigil_monitor_predictions' || metric === 'vigil_monitor_labelled') continue;
            expect(value, `${metric}${JSON.stringify(labels)}`).not.toBeNull();
            expect(sampleValue(exposition, metric, labels), `${metric}${JSON.stringify(labels)}`).toBeCloseTo(
              value!,
              12,
            );
          }
          // consistency only (same code underneath): evaluate() of the same selection agrees
          const e = await monitor.evaluate({ model: 'ae', version, window, site });
          for (const [metric, value] of [
            ['vigil_monitor_auroc', e.auroc],
            ['vigil_monitor_auprc', e.auprc],
            ['vigil_monitor_brier', e.brier],
            ['vigil_monitor_ece', e.ece],
            ['vigil_monitor_precision', e.precision],
            ['vigil_monitor_recall', e.recall],
            ['vigil_monitor_fallback_rate', e.fallbackRate],
          ] as const)
            expect(sampleValue(exposition, metric, labels), `evaluate() ${metric}`).toBe(value);
          checked++;
        }
    expect(checked).toBe(16);
  });

  it('has the latency histogram in seconds with the SLO buckets, counted from the raw latencies', () => {
    for (const le of [0.005, 0.01, 0.025, 0.05, 0.1]) expect(LATENCY_BUCKETS).toContain(le);
    for (const version of ['1', '2']) {
      const latencies = data.predictions.filter((p) => p.version === version).map((p) => p.latencyMs!);
      for (const le of LATENCY_BUCKETS) {
        expect(
          sampleValue(exposition, 'vigil_prediction_latency_seconds_bucket', {
            model: 'ae',
            version,
            le: String(le),
          }),
          `le=${le}`,
        ).toBe(latencies.filter((ms) => ms / 1000 <= le).length);
      }
      expect(
        sampleValue(exposition, 'vigil_prediction_latency_seconds_count', { model: 'ae', version }),
      ).toBe(latencies.length);
      const fallbacks = data.predictions.filter((p) => p.version === version && p.fallback).length;
      expect(sampleValue(exposition, 'vigil_predictions_fallback_total', { model: 'ae', version })).toBe(
        fallbacks,
      );
      expect(sampleValue(exposition, 'vigil_predictions_total', { model: 'ae', version })).toBe(
        latencies.length,
      );
    }
  });

  it('publishes the latest drift report per feature, with the share and the score PSI', () => {
    // the rows of the drift() call in beforeAll, selected here: version 1, reference before
    // prediction 600, current the last week up to the latest prediction
    const split = +data.predictions[600]!.at;
    const reference = data.predictions.filter((p) => p.version === '1' && +p.at < split);
    const current = slice('1', 'week', undefined);
    expect(reference.length).toBeGreaterThan(100);
    expect(current.length).toBeGreaterThan(100);
    const expected = rawFeatureDrift(reference, current);
    const drifted = expected.columns.filter((c) => c.drifted).length;
    const labels = { model: 'ae', version: '1', site: 'all' };
    expect(sampleValue(exposition, 'vigil_monitor_drift_share', labels)).toBe(drifted / 2);
    expect(sampleValue(exposition, 'vigil_monitor_dataset_drift', labels)).toBe(drifted / 2 >= 0.5 ? 1 : 0);
    const scorePsi = psiTest(
      reference.map((p) => p.score),
      current.map((p) => p.score),
      { columnType: 'numerical' },
    ).statistic;
    expect(sampleValue(exposition, 'vigil_monitor_score_psi', labels)).toBeCloseTo(scorePsi, 12);
    const published = exposition.samples.filter(
      (s) => s.name === 'vigil_monitor_feature_drift_score' && s.labels.model === 'ae',
    );
    expect(published.map((s) => s.labels.feature)).toEqual(['hr', 'lactate']);
    for (const c of expected.columns) {
      expect(
        sampleValue(exposition, 'vigil_monitor_feature_drift_score', {
          ...labels,
          feature: c.column!,
          test: c.test,
        }),
      ).toBeCloseTo(c.statistic, 12);
      expect(
        sampleValue(exposition, 'vigil_monitor_feature_drifted', { ...labels, feature: c.column! }),
      ).toBe(c.drifted ? 1 : 0);
    }
  });

  it('never carries an entity key or a prediction id, in labels or anywhere else', () => {
    expect(text).not.toContain('PATIENT-');
    expect(text).not.toContain('-pred-');
    const allowed = new Set([
      'model',
      'version',
      'window',
      'site',
      'feature',
      'test',
      'label',
      'reason',
      'le',
    ]);
    for (const s of exposition.samples)
      for (const name of Object.keys(s.labels)) expect(allowed).toContain(name);
  });

  it('follows new outcomes: the gauges are recomputed when the data changes', async () => {
    const labels = { model: 'ae', version: '1', window: 'day', site: 'all' };
    const before = sampleValue(exposition, 'vigil_monitor_labelled', labels);
    const unlabelled = slice('1', 'day', undefined).find(
      (p) => !data.outcomes.some((o) => o.predictionId === p.predictionId),
    )!;
    await monitor.recordOutcomes([{ predictionId: unlabelled.predictionId, label: 1, at: new Date() }]);
    const after = parseExposition(await monitor.metrics());
    expect(sampleValue(after, 'vigil_monitor_labelled', labels)).toBe(before + 1);
  });

  it.skipIf(!hasPromtool)('passes `promtool check metrics` (and promtool rejects a torn copy)', () => {
    const ok = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const torn = text.replace(/(vigil_monitor_auroc\{[^}]*)\}/, '$1');
    expect(torn).not.toBe(text);
    expect(spawnSync('promtool', ['check', 'metrics'], { input: torn }).status).not.toBe(0);
  });

  it('the test parser rejects what the format forbids', () => {
    expect(() => parseExposition('x 1\n')).toThrow(/no TYPE/);
    expect(() => parseExposition('# TYPE x gauge\nx{a="b} 1\n')).toThrow(/unterminated/);
    expect(() => parseExposition('# TYPE x gauge\nx{1a="b"} 1\n')).toThrow(/invalid label name/);
    expect(() =>
      parseExposition('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'),
    ).toThrow(/cumulative/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n')).toThrow(
      /_count/,
    );
  });
});
