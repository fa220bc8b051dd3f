import { spawnSync } from 'node:child_process';
import type { Monitor, MonitorWindow, PredictionRecord } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localMonitor } from './local-monitor-adapter.js';
import { LATENCY_BUCKETS } from './monitor-metrics.js';
import { pairCountAuroc, type Traffic, traffic } from './testing/monitor-data.js';
import { type Exposition, parseExposition, sampleValue } from './testing/parse-exposition.js';

const WINDOW_MS: Record<MonitorWindow, number> = { day: 86_400_000, week: 7 * 86_400_000 };
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

let ctx: TestContext;
let monitor: Monitor;
let data: Traffic;
let text: string;
let exposition: Exposition;

/** The raw records of a version/window/site, selected here from the generated data. */
function slice(version: string, window: MonitorWindow, site: string | undefined): PredictionRecord[] {
  const latest = Math.max(...data.predictions.map((p) => +p.at));
  return data.predictions.filter(
    (p) =>
      p.version === version &&
      (site === undefined || p.site === site) &&
      +p.at > latest - WINDOW_MS[window] &&
      +p.at <= latest,
  );
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
  it('has a window gauge per version × window × site, AUROC equal to pair counting on the raw data', async () => {
    let checked = 0;
    for (const version of ['1', '2'])
      for (const window of ['day', 'week'] as const)
        for (const site of [undefined, 'A', 'B', 'C']) {
          const rows = slice(version, window, site);
          const outcome = new Map(data.outcomes.map((o) => [o.predictionId, o.label]));
          const labelled = rows.filter((r) => outcome.has(r.predictionId));
          const labels = { model: 'ae', version, window, site: site ?? 'all' };
          expect(sampleValue(exposition, 'vigil_monitor_predictions', labels), JSON.stringify(labels)).toBe(
            rows.length,
          );
          expect(sampleValue(exposition, 'vigil_monitor_labelled', labels)).toBe(labelled.length);
          const expected = pairCountAuroc(
            labelled.map((r) => r.score),
            labelled.map((r) => outcome.get(r.predictionId)!),
          );
          expect(expected).not.toBeNull();
          expect(sampleValue(exposition, 'vigil_monitor_auroc', labels)).toBeCloseTo(expected!, 12);
          // the other gauges are what evaluate() returns for the same selection
          const e = await monitor.evaluate({ model: 'ae', version, window, site });
          for (const [metric, value] of [
            ['vigil_monitor_auprc', e.auprc],
            ['vigil_monitor_brier', e.brier],
            ['vigil_monitor_ece', e.ece],
            ['vigil_monitor_precision', e.precision],
            ['vigil_monitor_recall', e.recall],
            ['vigil_monitor_fallback_rate', e.fallbackRate],
          ] as const) {
            expect(value, metric).not.toBeNull();
            expect(sampleValue(exposition, metric, labels), `${metric}${JSON.stringify(labels)}`).toBeCloseTo(
              value!,
              12,
            );
          }
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

  it('publishes the latest drift report per feature, with the share and the score PSI', async () => {
    const report = await monitor.drift!({
      model: 'ae',
      version: '1',
      reference: { until: new Date(+data.predictions[600]!.at) },
      window: 'week',
    });
    const labels = { model: 'ae', version: '1', site: 'all' };
    expect(sampleValue(exposition, 'vigil_monitor_drift_share', labels)).toBe(report.driftShare);
    expect(sampleValue(exposition, 'vigil_monitor_dataset_drift', labels)).toBe(report.datasetDrift ? 1 : 0);
    expect(sampleValue(exposition, 'vigil_monitor_score_psi', labels)).toBeCloseTo(report.scorePsi!, 12);
    expect(report.features.map((f) => f.feature)).toEqual(['hr', 'lactate']);
    for (const f of report.features) {
      expect(
        sampleValue(exposition, 'vigil_monitor_feature_drift_score', {
          ...labels,
          feature: f.feature,
          test: f.test,
        }),
      ).toBeCloseTo(f.statistic, 12);
      expect(
        sampleValue(exposition, 'vigil_monitor_feature_drifted', { ...labels, feature: f.feature }),
      ).toBe(f.drifted ? 1 : 0);
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
