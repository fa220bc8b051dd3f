import type { DriftReport, Evaluation, MonitorWindow } from '@vigil/core';
import type * as PromClient from 'prom-client';

type Labels<T extends string> = Partial<Record<T, string | number>>;
type WindowLabel = 'model' | 'version' | 'window' | 'site';
type DriftLabel = 'model' | 'version' | 'site';

/** Buckets of `vigil_prediction_latency_seconds`: 1 ms to 10 s, dense around the 50 ms target. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The window gauges, each from one field of an `Evaluation`. */
const WINDOW_GAUGES = {
  auroc: ['vigil_monitor_auroc', 'AUROC of the labelled predictions in the window.'],
  auprc: ['vigil_monitor_auprc', 'Average precision (area under the PR curve) in the window.'],
  brier: ['vigil_monitor_brier', 'Brier score of the labelled predictions in the window.'],
  ece: ['vigil_monitor_ece', 'Expected calibration error (10 equal-width bins) in the window.'],
  precision: ['vigil_monitor_precision', 'Precision at the monitor threshold in the window.'],
  recall: ['vigil_monitor_recall', 'Recall at the monitor threshold in the window.'],
  labelled: ['vigil_monitor_labelled', 'Predictions in the window whose outcome has arrived.'],
  predictions: ['vigil_monitor_predictions', 'Predictions in the window.'],
  fallbackRate: [
    'vigil_monitor_fallback_rate',
    'Share of the predictions in the window answered by the fallback.',
  ],
} as const satisfies Partial<Record<keyof Evaluation, readonly [string, string]>>;

type WindowField = keyof typeof WINDOW_GAUGES;

/**
 * The monitor's Prometheus metrics, in a registry of its own (never prom-client's global
 * one), so two monitors in one process do not collide. Labels are model, version, window,
 * site, feature, drift test, outcome label and rejection reason only: never entity keys or
 * prediction ids.
 */
export class MonitorMetrics {
  readonly #registry: PromClient.Registry;
  readonly predictions: PromClient.Counter<'model' | 'version'>;
  readonly fallbacks: PromClient.Counter<'model' | 'version'>;
  readonly outcomes: PromClient.Counter<'model' | 'version' | 'label'>;
  readonly score: PromClient.Histogram<'model' | 'version'>;
  readonly latency: PromClient.Histogram<'model' | 'version'>;
  readonly auroc: PromClient.Gauge<'model' | 'version'>;
  readonly rejected: PromClient.Counter<'reason'>;
  readonly #window: Record<WindowField, PromClient.Gauge<WindowLabel>>;
  readonly #driftShare: PromClient.Gauge<DriftLabel>;
  readonly #datasetDrift: PromClient.Gauge<DriftLabel>;
  readonly #scorePsi: PromClient.Gauge<DriftLabel>;
  readonly #featureScore: PromClient.Gauge<DriftLabel | 'feature' | 'test'>;
  readonly #featureDrifted: PromClient.Gauge<DriftLabel | 'feature'>;
  /** Feature series published per drift key, so a new report removes the ones it lacks. */
  readonly #featureSeries = new Map<string, { feature: string; test: string }[]>();

  constructor(prom: typeof PromClient) {
    const registry = new prom.Registry();
    this.#registry = registry;
    const registers = [registry];
    this.predictions = new prom.Counter({
      name: 'vigil_predictions_total',
      help: 'Predictions recorded, by model and version.',
      labelNames: ['model', 'version'],
      registers,
    });
    this.fallbacks = new prom.Counter({
      name: 'vigil_predictions_fallback_total',
      help: 'Predictions recorded that the fallback model answered, by model and version.',
      labelNames: ['model', 'version'],
      registers,
    });
    this.outcomes = new prom.Counter({
      name: 'vigil_outcomes_total',
      help: 'Outcomes recorded and joined to their prediction, by model, version and observed label.',
      labelNames: ['model', 'version', 'label'],
      registers,
    });
    this.score = new prom.Histogram({
      name: 'vigil_prediction_score',
      help: 'Distribution of predicted probabilities, by model and version.',
      labelNames: ['model', 'version'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers,
    });
    this.latency = new prom.Histogram({
      name: 'vigil_prediction_latency_seconds',
      help: 'Server-side latency of the predictions recorded with latencyMs, by model and version.',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.auroc = new prom.Gauge({
      name: 'vigil_model_auroc',
      help: 'AUROC from the latest evaluate() of the model and version (version="all" when not filtered).',
      labelNames: ['model', 'version'],
      registers,
    });
    this.rejected = new prom.Counter({
      name: 'vigil_monitor_rejected_total',
      help: 'Records rejected by validation, by reason (invalid_<field>).',
      labelNames: ['reason'],
      registers,
    });
    const windowGauges = {} as Record<WindowField, PromClient.Gauge<WindowLabel>>;
    for (const [field, [name, help]] of Object.entries(WINDOW_GAUGES) as [
      WindowField,
      readonly [string, string],
    ][]) {
      windowGauges[field] = new prom.Gauge({
        name,
        help: `${help} By model, version, rolling window (day, week) and site ("all" = every site).`,
        labelNames: ['model', 'version', 'window', 'site'],
        registers,
      });
    }
    this.#window = windowGauges;
    const driftLabels = ['model', 'version', 'site'] as const;
    this.#driftShare = new prom.Gauge({
      name: 'vigil_monitor_drift_share',
      help: 'Share of drifted features in the latest drift() report (version/site "all" when not filtered).',
      labelNames: driftLabels,
      registers,
    });
    this.#datasetDrift = new prom.Gauge({
      name: 'vigil_monitor_dataset_drift',
      help: '1 when the latest drift() report found dataset drift (share >= its threshold), else 0.',
      labelNames: driftLabels,
      registers,
    });
    this.#scorePsi = new prom.Gauge({
      name: 'vigil_monitor_score_psi',
      help: 'PSI of the score distribution, current vs reference, in the latest drift() report.',
      labelNames: driftLabels,
      registers,
    });
    this.#featureScore = new prom.Gauge({
      name: 'vigil_monitor_feature_drift_score',
      help: "Per-feature drift statistic of the latest drift() report: the p-value or distance of the feature's test.",
      labelNames: [...driftLabels, 'feature', 'test'],
      registers,
    });
    this.#featureDrifted = new prom.Gauge({
      name: 'vigil_monitor_feature_drifted',
      help: '1 when the feature drifted in the latest drift() report, else 0.',
      labelNames: [...driftLabels, 'feature'],
      registers,
    });
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  setAuroc(labels: Labels<'model' | 'version'>, value: number | null): void {
    if (value === null) this.auroc.remove(labels);
    else this.auroc.set(labels, value);
  }

  /** Publish one window's evaluation; a null field removes its series. */
  setWindow(
    labels: { model: string; version: string; window: MonitorWindow; site: string },
    e: Evaluation,
  ): void {
    for (const field of Object.keys(WINDOW_GAUGES) as WindowField[]) {
      const value = e[field];
      if (value === null || value === undefined) this.#window[field].remove(labels);
      else this.#window[field].set(labels, value);
    }
  }

  /** Publish a drift report under {model, version, site}, replacing the previous one's features. */
  setDrift(labels: { model: string; version: string; site: string }, report: DriftReport): void {
    this.#driftShare.set(labels, report.driftShare);
    this.#datasetDrift.set(labels, report.datasetDrift ? 1 : 0);
    if (report.scorePsi === null) this.#scorePsi.remove(labels);
    else this.#scorePsi.set(labels, report.scorePsi);
    const key = JSON.stringify([labels.model, labels.version, labels.site]);
    for (const old of this.#featureSeries.get(key) ?? []) {
      this.#featureScore.remove({ ...labels, feature: old.feature, test: old.test });
      this.#featureDrifted.remove({ ...labels, feature: old.feature });
    }
    for (const f of report.features) {
      this.#featureScore.set({ ...labels, feature: f.feature, test: f.test }, f.statistic);
      this.#featureDrifted.set({ ...labels, feature: f.feature }, f.drifted ? 1 : 0);
    }
    this.#featureSeries.set(
      key,
      report.features.map((f) => ({ feature: f.feature, test: f.test })),
    );
  }

  text(): Promise<string> {
    return this.#registry.metrics();
  }
}
