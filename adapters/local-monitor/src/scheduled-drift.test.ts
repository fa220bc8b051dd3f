import { join } from 'node:path';
import type { PredictionRecord } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { driftReport } from './drift-report.js';
import { FeatureSets } from './feature-rows.js';
import { LocalMonitor } from './local-monitor.js';
import { localMonitor } from './local-monitor-adapter.js';
import { MonitorMetrics } from './monitor-metrics.js';
import type { IndexedPrediction } from './prediction-index.js';
import { traffic } from './testing/monitor-data.js';
import { parseExposition, sampleValue } from './testing/parse-exposition.js';

const DAY = 86_400_000;
const ALL = { model: 'ae', version: 'all', site: 'all' };

/** 12.5 days of predictions whose hr moves up by 20 in the last 2 days. */
function shiftedTraffic(): ReturnType<typeof traffic>['predictions'] {
  const predictions = traffic('ae', 1500, { stepMinutes: 12 }).predictions;
  const last = +predictions.at(-1)!.at;
  return predictions.map((p) =>
    +p.at > last - 2 * DAY ? { ...p, features: { ...p.features!, hr: p.features!.hr! + 20 } } : p,
  );
}

/** The expected report: the two samples selected here from the raw records, then driftReport. */
function expectedReport(records: readonly PredictionRecord[], referenceDays: number) {
  const sets = new FeatureSets();
  const rows = (rs: readonly PredictionRecord[]): IndexedPrediction[] =>
    rs.map((r) => ({
      id: r.predictionId,
      model: r.model,
      version: r.version,
      site: r.site,
      score: r.score,
      at: +r.at,
      latencyMs: r.latencyMs,
      fallback: r.fallback ?? false,
      features: r.features === undefined ? undefined : sets.row(r.features),
      label: undefined,
    }));
  const first = Math.min(...records.map((r) => +r.at));
  const last = Math.max(...records.map((r) => +r.at));
  const reference = records.filter((r) => +r.at >= first && +r.at < first + referenceDays * DAY);
  const current = records.filter((r) => +r.at > last - DAY && +r.at <= last);
  return driftReport(rows(reference), rows(current), { driftShare: 0.5 });
}

describe('drift on a schedule (drift config)', () => {
  let ctx: TestContext;
  let monitor: LocalMonitor;
  afterEach(async () => {
    await monitor?.close();
    await ctx?.cleanup();
  });

  /** The monitor the adapter makes from `{ drift }`, on a clock the test drives. */
  async function start(drift: Record<string, unknown>, now: () => number) {
    ctx = await createTestContext();
    const config = localMonitor.config.parse({ drift });
    monitor = await LocalMonitor.open({
      dir: join(ctx.workdir, config.dir),
      capabilities: localMonitor.capabilities,
      metrics: new MonitorMetrics(await import('prom-client')),
      logger: ctx.logger,
      drift: config.drift!,
      now,
    });
    return monitor;
  }

  it('a scrape publishes the last day against the first referenceDays days, equal to the report from the raw records', async () => {
    const records = shiftedTraffic();
    await start({ referenceDays: 3 }, Date.now);
    await monitor.recordPredictions(records);
    const exposition = parseExposition(await monitor.metrics());
    const expected = expectedReport(records, 3);
    expect(expected.features.find((f) => f.feature === 'hr')!.drifted).toBe(true);
    expect(sampleValue(exposition, 'vigil_monitor_drift_share', ALL)).toBe(expected.driftShare);
    expect(sampleValue(exposition, 'vigil_monitor_score_psi', ALL)).toBeCloseTo(expected.scorePsi!, 12);
    for (const f of expected.features) {
      expect(sampleValue(exposition, 'vigil_monitor_feature_drifted', { ...ALL, feature: f.feature })).toBe(
        f.drifted ? 1 : 0,
      );
      expect(
        sampleValue(exposition, 'vigil_monitor_feature_drift_score', {
          ...ALL,
          feature: f.feature,
          test: f.test,
        }),
      ).toBeCloseTo(f.statistic, 12);
    }
  });

  it('waits until the current window starts after the reference period, and is off without the config', async () => {
    const records = shiftedTraffic();
    const first = +records[0]!.at;
    // 3.5 days of data: a 3-day reference and a 1-day window would overlap.
    const early = records.filter((r) => +r.at < first + 3.5 * DAY);
    await start({ referenceDays: 3 }, Date.now);
    await monitor.recordPredictions(early);
    expect(await monitor.metrics()).not.toMatch(/^vigil_monitor_drift_share\{/m);
    await monitor.recordPredictions(records.filter((r) => +r.at >= first + 3.5 * DAY));
    expect(await monitor.metrics()).toMatch(/^vigil_monitor_drift_share\{/m);
    await monitor.close();
    await ctx.cleanup();

    ctx = await createTestContext();
    monitor = (await localMonitor.create(localMonitor.config.parse({}), ctx)) as LocalMonitor;
    await monitor.recordPredictions(records);
    expect(await monitor.metrics()).not.toMatch(/^vigil_monitor_drift_share\{/m);
  });

  it('recomputes at most every everyMinutes, and only after new data', async () => {
    const records = shiftedTraffic();
    const half = records.length - 300;
    let now = 1_000_000;
    await start({ referenceDays: 3, everyMinutes: 10 }, () => now);
    await monitor.recordPredictions(records.slice(0, half));
    const share = async () =>
      sampleValue(parseExposition(await monitor.metrics()), 'vigil_monitor_drift_share', ALL);
    const before = await share();
    expect(before).toBe(expectedReport(records.slice(0, half), 3).driftShare);
    await monitor.recordPredictions(records.slice(half));
    const after = expectedReport(records, 3).driftShare;
    expect(after).not.toBe(before);
    now += 9 * 60_000;
    expect(await share()).toBe(before); // not due yet
    now += 60_000;
    expect(await share()).toBe(after);
  });
});
