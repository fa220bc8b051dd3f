/**
 * The local monitor at ~100k predictions: time to record them (journal + index), to evaluate
 * rolling windows per version and site, to render /metrics (every version × window × site,
 * then again with nothing changed: cached), to take a batch of late outcomes and re-render,
 * and a drift report (week vs a reference week, two features). Prints one JSON line. Not part
 * of the test suite.
 *
 *   npx tsx --conditions=@vigil/source bench/monitor-windows/monitor-windows.ts [predictions=100000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, defaultMonitorCapabilities } from '@vigil/core';
import * as prom from 'prom-client';
import { LocalMonitor } from '../../adapters/local-monitor/src/local-monitor.js';
import { MonitorMetrics } from '../../adapters/local-monitor/src/monitor-metrics.js';
import { traffic } from '../../adapters/local-monitor/src/testing/monitor-data.js';

const N = Number(process.argv[2] ?? 100_000);

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, Math.round((performance.now() - start) * 10) / 10];
}

const dir = await mkdtemp(join(tmpdir(), 'vigil-monitor-bench-'));
try {
  // 100k predictions one every 30 s ≈ 35 days
  const data = traffic('ae', N, { stepMinutes: 0.5 });
  const late = data.outcomes.splice(Math.floor(data.outcomes.length * 0.9));
  const monitor = await LocalMonitor.open({
    dir,
    capabilities: { ...defaultMonitorCapabilities, drift: true, calibration: true },
    metrics: new MonitorMetrics(prom),
    logger: createLogger({ level: 'silent' }),
  });
  const [, recordMs] = await timed(async () => {
    for (let i = 0; i < data.predictions.length; i += 1000)
      await monitor.recordPredictions(data.predictions.slice(i, i + 1000));
    for (let i = 0; i < data.outcomes.length; i += 1000)
      await monitor.recordOutcomes(data.outcomes.slice(i, i + 1000));
  });
  const [week, evaluateWeekMs] = await timed(() => monitor.evaluate({ model: 'ae', window: 'week' }));
  const [, evaluateDaySiteMs] = await timed(() =>
    monitor.evaluate({ model: 'ae', window: 'day', site: 'B', version: '1' }),
  );
  const [, evaluateAllMs] = await timed(() => monitor.evaluate({ model: 'ae' }));
  const [text, metricsFirstMs] = await timed(() => monitor.metrics());
  const [, metricsCachedMs] = await timed(() => monitor.metrics());
  const [, lateOutcomesMs] = await timed(() => monitor.recordOutcomes(late));
  const [, metricsAfterOutcomesMs] = await timed(() => monitor.metrics());
  const latest = +data.predictions[data.predictions.length - 1]!.at;
  const [drift, driftMs] = await timed(() =>
    monitor.drift({
      model: 'ae',
      reference: { since: new Date(latest - 21 * 86_400_000), until: new Date(latest - 14 * 86_400_000) },
      window: 'week',
    }),
  );
  await monitor.close();
  // a fresh instance reads the journals once
  const [reopened, reopenMs] = await timed(() =>
    LocalMonitor.open({
      dir,
      capabilities: defaultMonitorCapabilities,
      metrics: new MonitorMetrics(prom),
      logger: createLogger({ level: 'silent' }),
    }),
  );
  await reopened.close();
  console.log(
    JSON.stringify({
      predictions: N,
      weekPredictions: week.predictions,
      exposition: { lines: text.split('\n').length, bytes: text.length },
      driftTests: drift.features.map((f) => `${f.feature}:${f.test}`),
      recordMs,
      evaluateWeekMs,
      evaluateDaySiteMs,
      evaluateAllMs,
      metricsFirstMs,
      metricsCachedMs,
      lateOutcomes: late.length,
      lateOutcomesMs,
      metricsAfterOutcomesMs,
      driftMs,
      reopenMs,
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
