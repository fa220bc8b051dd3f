/**
 * deploy/prometheus/vigil-alerts.yml and deploy/grafana/vigil-dashboard.json against the
 * monitor: promtool accepts the rules (and rejects a broken copy), and every metric either
 * file reads is one the local monitor exports, so renaming a metric breaks this test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestContext } from '@vigil/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { localMonitor } from './local-monitor-adapter.js';
import { traffic } from './testing/monitor-data.js';
import { parseExposition } from './testing/parse-exposition.js';
import { promqlMetricNames } from './testing/promql-names.js';

const RULES = fileURLToPath(new URL('../../../deploy/prometheus/vigil-alerts.yml', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/vigil-dashboard.json', import.meta.url));
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: unknown;
  targets?: { expr: string; refId: string }[];
}

/** Every series name the monitor exports after traffic and a drift report (histograms with their suffixes). */
let exported: Set<string>;

beforeAll(async () => {
  const ctx = await createTestContext();
  const monitor = await localMonitor.create(localMonitor.config.parse({}), ctx);
  try {
    const data = traffic('ae', 300);
    await monitor.recordPredictions(data.predictions);
    await monitor.recordOutcomes(data.outcomes);
    await monitor.drift!({ model: 'ae', reference: { until: data.predictions[150]!.at }, window: 'day' });
    const { types } = parseExposition(await monitor.metrics());
    exported = new Set();
    for (const [name, type] of types) {
      exported.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
    }
  } finally {
    await monitor.close();
    await ctx.cleanup();
  }
});

/** The `expr:` values of the rules file (block or single-line scalars). */
function ruleExpressions(yaml: string): string[] {
  const out: string[] = [];
  const lines = yaml.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!match) continue;
    if (match[2] !== '|' && match[2] !== '>') {
      out.push(match[2]!);
      continue;
    }
    const body: string[] = [];
    while (
      i + 1 < lines.length &&
      (lines[i + 1]!.trim() === '' ||
        (/^\s/.test(lines[i + 1]!) && lines[i + 1]!.search(/\S/) > match[1]!.length))
    )
      body.push(lines[++i]!);
    out.push(body.join('\n'));
  }
  return out;
}

function dashboardExpressions(dashboard: {
  panels: Panel[];
  templating: { list: { query?: unknown }[] };
}): string[] {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const variable of dashboard.templating.list) {
    const query =
      typeof variable.query === 'object' ? (variable.query as { query?: string }).query : variable.query;
    const labelValues = /^label_values\(\s*([a-zA-Z_:][\w:]*)\s*,/.exec(String(query ?? ''));
    if (labelValues) exprs.push(labelValues[1]!);
  }
  return exprs;
}

function unknownNames(exprs: readonly string[]): string[] {
  return [...new Set(exprs.flatMap(promqlMetricNames))].filter((n) => !exported.has(n));
}

describe('deploy assets', () => {
  it('reads metric names out of PromQL', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (model, le) (rate(a_bucket{x="b_c"}[5m]))) > 0.05 and on (model) b_total offset 1e3',
      ),
    ).toEqual(['a_bucket', 'b_total']);
  });

  it.skipIf(!hasPromtool)('promtool accepts the alert rules and rejects a broken copy', async () => {
    const ok = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('SUCCESS: 4 rules found');
    const dir = await mkdtemp(join(tmpdir(), 'vigil-rules-'));
    try {
      const broken = join(dir, 'broken.yml');
      const text = await readFile(RULES, 'utf8');
      const damaged = text.replace('histogram_quantile(0.99,', 'histogram_quantile(0.99');
      expect(damaged).not.toBe(text);
      await writeFile(broken, damaged);
      const bad = spawnSync('promtool', ['check', 'rules', broken], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stdout + bad.stderr).toMatch(/VigilLatencyP99High|parse error/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the alert rules read only metrics the monitor exports', async () => {
    const exprs = ruleExpressions(await readFile(RULES, 'utf8'));
    expect(exprs).toHaveLength(4);
    const names = new Set(exprs.flatMap(promqlMetricNames));
    for (const n of [
      'vigil_monitor_auroc',
      'vigil_monitor_labelled',
      'vigil_monitor_drift_share',
      'vigil_prediction_latency_seconds_bucket',
      'vigil_predictions_fallback_total',
      'vigil_predictions_total',
    ])
      expect(names).toContain(n);
    expect(unknownNames(exprs)).toEqual([]);
  });

  it('the Grafana dashboard is schema ≥ 36, has the monitoring panels, and reads only exported metrics', async () => {
    const text = await readFile(DASHBOARD, 'utf8');
    const dashboard = JSON.parse(text);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(typeof dashboard.uid).toBe('string');
    const panels = dashboard.panels as Panel[];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.gridPos.w * p.gridPos.h, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.expr.trim(), p.title).not.toBe('');
    }
    const exprsOf = (fragment: RegExp) =>
      panels.filter((p) => fragment.test(p.title)).flatMap((p) => p.targets!.map((t) => t.expr));
    expect(exprsOf(/AUROC/).join()).toMatch(/vigil_monitor_auroc/);
    expect(exprsOf(/ECE/).join()).toMatch(/vigil_monitor_ece/);
    expect(exprsOf(/drift share/i).join()).toMatch(/vigil_monitor_drift_share/);
    expect(exprsOf(/feature/i).join()).toMatch(/vigil_monitor_feature_drift/);
    expect(exprsOf(/p50 \/ p99/).join()).toMatch(
      /histogram_quantile\(0\.5,[\s\S]*histogram_quantile\(0\.99,/,
    );
    expect(exprsOf(/Fallback/).join()).toMatch(/vigil_predictions_fallback_total/);
    expect(exprsOf(/per second/).join()).toMatch(/rate\(vigil_predictions_total/);
    const exprs = dashboardExpressions(dashboard);
    expect(unknownNames(exprs)).toEqual([]);
    // a renamed metric is caught
    const renamed = JSON.parse(text.replaceAll('vigil_monitor_ece', 'vigil_monitor_calibration_error'));
    expect(unknownNames(dashboardExpressions(renamed))).toEqual(['vigil_monitor_calibration_error']);
  });
});
