/**
 * The monitor scraped by a real Prometheus (Debian's 2.42; `bash scripts/services up
 * prometheus` installs it): the scraped AUROC equals pair counting on the raw data and
 * evaluate(), the repository's alert rules load, and VigilAurocLow goes pending for exactly
 * the series whose weekly AUROC is below 0.85 with at least 100 labelled predictions.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriftReport, Monitor } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localMonitor } from './local-monitor-adapter.js';
import { pairCountAuroc, rawFeatureDrift, type Traffic, traffic } from './testing/monitor-data.js';
import {
  type PrometheusProcess,
  prometheusUnavailable,
  startPrometheus,
} from './testing/prometheus-process.js';

const RULES = fileURLToPath(new URL('../../../deploy/prometheus/vigil-alerts.yml', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/vigil-dashboard.json', import.meta.url));
const WEEK = 7 * 86_400_000;
const missing = prometheusUnavailable();

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * The share of drifted features of predictions made from `split` on against those made before
 * it, computed here by core's `datasetDrift` on the raw feature values (not by the monitor).
 */
function rawDriftShare(predictions: Traffic['predictions'], split: Date): number {
  const reference = predictions.filter((p) => +p.at < +split);
  const current = predictions.filter((p) => +p.at >= +split);
  expect(reference.length).toBeGreaterThan(100);
  expect(current.length).toBeGreaterThan(100);
  const result = rawFeatureDrift(reference, current);
  return result.columns.filter((c) => c.drifted).length / result.columns.length;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(missing !== undefined)(
  missing
    ? `local monitor scraped by a real Prometheus (skipped: ${missing})`
    : 'local monitor scraped by a real Prometheus',
  () => {
    let ctx: TestContext;
    let monitor: Monitor;
    let prometheus: PrometheusProcess;
    let dir: string;
    let data: Traffic;
    let shiftedData: Traffic['predictions'];
    let shiftedReport: DriftReport;
    let aeReport: DriftReport;

    beforeAll(async () => {
      ctx = await createTestContext();
      monitor = await localMonitor.create(localMonitor.config.parse({}), ctx);
      data = traffic('ae', 1500, { stepMinutes: 12 });
      await monitor.recordPredictions(data.predictions);
      await monitor.recordOutcomes(data.outcomes);
      // a second model whose two features both move up between a reference week and the last week
      const shifted = traffic('shifted', 600, { stepMinutes: 30, seed: 11 }).predictions.map((p, i) => ({
        ...p,
        features: {
          hr: p.features!.hr! + (i >= 300 ? 25 : 0),
          lactate: (p.features!.lactate ?? 2) + (i >= 300 ? 3 : 0),
        },
      }));
      shiftedData = shifted;
      await monitor.recordPredictions(shifted);
      const split = shifted[300]!.at;
      shiftedReport = await monitor.drift!({ model: 'shifted', reference: { until: split }, since: split });
      aeReport = await monitor.drift!({
        model: 'ae',
        reference: { until: data.predictions[750]!.at },
        since: data.predictions[750]!.at,
      });
      const { url } = await monitor.listen({ port: 0 });
      const target = new URL(url).host;
      dir = await mkdtemp(join(tmpdir(), 'vigil-prometheus-'));
      prometheus = await startPrometheus(
        dir,
        [
          'global:',
          '  scrape_interval: 1s',
          '  evaluation_interval: 1s',
          'rule_files:',
          `  - ${JSON.stringify(RULES)}`,
          'scrape_configs:',
          '  - job_name: vigil-monitor',
          '    static_configs:',
          `      - targets: [${JSON.stringify(target)}]`,
          '',
        ].join('\n'),
      );
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await monitor?.close();
      await ctx?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('scrapes vigil_monitor_auroc equal to pair counting on the raw labels and to evaluate()', async () => {
      const query = encodeURIComponent(
        'vigil_monitor_auroc{model="ae",version="1",window="week",site="all"}',
      );
      const result = await until('the first scrape', async () => {
        const r = await prometheus.api<{ result: VectorResult[] }>(`/api/v1/query?query=${query}`);
        return r.result.length > 0 ? r.result : undefined;
      });
      expect(result).toHaveLength(1);
      expect(result[0]!.metric).toMatchObject({ job: 'vigil-monitor', model: 'ae', version: '1' });
      const scraped = Number(result[0]!.value[1]);
      const latest = Math.max(...data.predictions.map((p) => +p.at));
      const outcome = new Map(data.outcomes.map((o) => [o.predictionId, o.label]));
      const rows = data.predictions.filter(
        (p) => p.version === '1' && +p.at > latest - WEEK && outcome.has(p.predictionId),
      );
      const expected = pairCountAuroc(
        rows.map((r) => r.score),
        rows.map((r) => outcome.get(r.predictionId)!),
      )!;
      expect(scraped).toBeCloseTo(expected, 12);
      const evaluated = await monitor.evaluate({ model: 'ae', version: '1', window: 'week' });
      expect(scraped).toBe(evaluated.auroc);
    });

    it("runs every query of the Grafana dashboard: its model variable lists both models, and each panel's PromQL parses and returns series", async () => {
      const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
        templating: { list: { name: string; query?: unknown; options?: { value: string }[] }[] };
        panels: { title: string; targets?: { expr: string }[] }[];
      };
      const variable = dashboard.templating.list.find((v) => v.name === 'model')!;
      const definition = /^label_values\(\s*([\w:]+)\s*,\s*(\w+)\s*\)$/.exec(
        (variable.query as { query: string }).query,
      )!;
      // What Grafana asks Prometheus for the variable's values.
      const models = await until('two models in the variable', async () => {
        const values = await prometheus.api<string[]>(
          `/api/v1/label/${definition[2]}/values?match[]=${encodeURIComponent(definition[1]!)}`,
        );
        return values.length === 2 ? values : undefined;
      });
      expect(models).toEqual(['ae', 'shifted']);
      // Rates need two scrapes of the counters in their range.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const queries = dashboard.panels.flatMap((p) =>
        (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })),
      );
      expect(queries.length).toBeGreaterThanOrEqual(10);
      for (const window of ['day', 'week']) {
        for (const { title, expr } of queries) {
          // Grafana's "All" of a multi-value variable is the regex of its values.
          const promql = expr.replaceAll('$model', `(${models.join('|')})`).replaceAll('$window', window);
          expect(promql, title).not.toMatch(/\$/);
          const result = await prometheus.api<{ resultType: string; result: VectorResult[] }>(
            `/api/v1/query?query=${encodeURIComponent(promql)}`,
          );
          expect(result.resultType, `${title}: ${promql}`).toBe('vector');
          expect(result.result.length, `${title}: ${promql} returned no series`).toBeGreaterThan(0);
        }
      }
    });

    it('loads the repository alert rules', async () => {
      const rules = await until('the rule groups', async () => {
        const r = await prometheus.api<{
          groups: { name: string; rules: { name: string; type: string; health: string }[] }[];
        }>('/api/v1/rules');
        const group = r.groups.find((g) => g.name === 'vigil-monitor');
        return group?.rules.every((rule) => rule.health === 'ok') ? group : undefined;
      });
      expect(rules.rules.map((r) => [r.name, r.type])).toEqual([
        ['VigilAurocLow', 'alerting'],
        ['VigilDatasetDrift', 'alerting'],
        ['VigilLatencyP99High', 'alerting'],
        ['VigilFallbackRateHigh', 'alerting'],
      ]);
    });

    it('puts VigilAurocLow in pending for exactly the weekly series under 0.85 with ≥ 100 labels', async () => {
      const latest = Math.max(...data.predictions.map((p) => +p.at));
      const outcome = new Map(data.outcomes.map((o) => [o.predictionId, o.label]));
      const expected: string[] = [];
      for (const version of ['1', '2'])
        for (const site of [undefined, 'A', 'B', 'C']) {
          const rows = data.predictions.filter(
            (p) =>
              p.version === version &&
              (site === undefined || p.site === site) &&
              +p.at > latest - WEEK &&
              outcome.has(p.predictionId),
          );
          const area = pairCountAuroc(
            rows.map((r) => r.score),
            rows.map((r) => outcome.get(r.predictionId)!),
          );
          if (area !== null && area < 0.85 && rows.length >= 100)
            expected.push(`${version}/${site ?? 'all'}`);
        }
      expect(expected.length).toBeGreaterThan(1);
      expect(expected.length).toBeLessThan(8); // the labelled ≥ 100 guard leaves some series out
      const alerts = await until('VigilAurocLow alerts', async () => {
        const r = await prometheus.api<{
          alerts: { labels: Record<string, string>; state: string }[];
        }>('/api/v1/alerts');
        const low = r.alerts.filter((a) => a.labels.alertname === 'VigilAurocLow');
        return low.length >= expected.length ? low : undefined;
      });
      expect(alerts.map((a) => `${a.labels.version}/${a.labels.site}`).sort()).toEqual(expected.sort());
      for (const a of alerts) {
        expect(a.state, 'for: 1h keeps a fresh alert pending').toBe('pending');
        expect(a.labels).toMatchObject({ model: 'ae', window: 'week', severity: 'page' });
      }
    });

    it('puts VigilDatasetDrift in pending for the model whose features moved, not for the other', async () => {
      // the expected shares, from the raw records split where the drift() calls split them
      const aeShare = rawDriftShare(data.predictions, data.predictions[750]!.at);
      const shiftedShare = rawDriftShare(shiftedData, shiftedData[300]!.at);
      expect(shiftedShare).toBe(1);
      expect(aeShare).toBeLessThan(0.5);
      // consistency: what drift() returned is what the gauges carry
      expect(shiftedReport.driftShare).toBe(shiftedShare);
      expect(aeReport.driftShare).toBe(aeShare);
      const alerts = await until('VigilDatasetDrift alerts', async () => {
        const r = await prometheus.api<{
          alerts: { labels: Record<string, string>; state: string }[];
        }>('/api/v1/alerts');
        const drift = r.alerts.filter((a) => a.labels.alertname === 'VigilDatasetDrift');
        return drift.length > 0 ? drift : undefined;
      });
      expect(alerts.map((a) => [a.labels.model, a.labels.version, a.labels.site, a.state])).toEqual([
        ['shifted', 'all', 'all', 'pending'],
      ]);
      const share = await prometheus.api<{ result: VectorResult[] }>(
        `/api/v1/query?query=${encodeURIComponent('vigil_monitor_drift_share')}`,
      );
      expect(Object.fromEntries(share.result.map((r) => [r.metric.model, Number(r.value[1])]))).toEqual({
        ae: aeShare,
        shifted: shiftedShare,
      });
    });
  },
);
