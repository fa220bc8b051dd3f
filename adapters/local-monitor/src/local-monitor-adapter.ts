import { isAbsolute, resolve } from 'node:path';
import { defaultMonitorCapabilities, defineAdapter } from '@vigil/core';
import { z } from 'zod';
import { LocalMonitor } from './local-monitor.js';
import { MonitorMetrics } from './monitor-metrics.js';

const capabilities = { ...defaultMonitorCapabilities, prometheus: true, drift: true, calibration: true };

/**
 * The embedded Monitor: predictions and outcomes in append-only NDJSON journals under
 * `<workdir>/<dir>`, indexed per model by time; AUROC, AUPRC, precision, recall, Brier, ECE
 * and the reliability curve, fallback share and latency over windows, per version and site;
 * Evidently-style feature drift and score PSI; Prometheus metrics (its own prom-client
 * registry) served at `/metrics`.
 */
export const localMonitor = defineAdapter({
  port: 'monitor',
  name: 'local',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'In-process monitor: prediction/outcome journals, AUROC and friends, Prometheus /metrics.',
  config: z.strictObject({
    dir: z
      .string()
      .min(1)
      .refine((dir) => !isAbsolute(dir) && !dir.split(/[\\/]/).includes('..'), {
        message: 'must be a relative path inside the workdir (no leading / and no ..)',
      })
      .default('monitor')
      .describe('Folder under the workdir holding predictions.ndjson and outcomes.ndjson.'),
    threshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        'Score at or above which a prediction counts as positive for the precision/recall gauges of /metrics.',
      ),
    drift: z
      .strictObject({
        referenceDays: z
          .number()
          .positive()
          .default(7)
          .describe(
            "Reference sample: each model's first N days of predictions (the period right after deployment).",
          ),
        window: z
          .enum(['day', 'week'])
          .default('day')
          .describe('Current sample: the last day or week of predictions, up to the latest one.'),
        everyMinutes: z
          .number()
          .min(0)
          .default(15)
          .describe('At most this often per model (wall clock), and only when the model has new data since.'),
        driftShare: z
          .number()
          .min(0)
          .max(1)
          .default(0.5)
          .describe("Share of drifted features at which the dataset drifts (Evidently's default 0.5)."),
      })
      .optional()
      .describe(
        "Drift on a schedule: when /metrics is scraped, each model's drift report (Evidently's test selection, drift share, score PSI) is recomputed when due, so the drift gauges and alerts follow a running server. Absent: drift is computed only when asked (monitor.drift). Not before the current window starts after the reference period ends.",
      ),
  }),
  capabilities,
  async create(config, ctx) {
    const prom = await import('prom-client');
    return LocalMonitor.open({
      dir: resolve(ctx.workdir, config.dir),
      capabilities,
      metrics: new MonitorMetrics(prom),
      logger: ctx.logger.child({ component: 'monitor:local' }),
      threshold: config.threshold,
      ...(config.drift ? { drift: config.drift } : {}),
    });
  },
});
