import type * as PromClient from 'prom-client';

type Labels<T extends string> = Partial<Record<T, string | number>>;

/**
 * The monitor's Prometheus metrics, in a registry of its own (never prom-client's global
 * one), so two monitors in one process do not collide. Labels are model, version,
 * outcome label and rejection reason only: never entity keys or prediction ids.
 */
export class MonitorMetrics {
  readonly #registry: PromClient.Registry;
  readonly predictions: PromClient.Counter<'model' | 'version'>;
  readonly outcomes: PromClient.Counter<'model' | 'version' | 'label'>;
  readonly score: PromClient.Histogram<'model' | 'version'>;
  readonly auroc: PromClient.Gauge<'model' | 'version'>;
  readonly rejected: PromClient.Counter<'reason'>;

  constructor(prom: typeof PromClient) {
    const registry = new prom.Registry();
    this.#registry = registry;
    this.predictions = new prom.Counter({
      name: 'vigil_predictions_total',
      help: 'Predictions recorded, by model and version.',
      labelNames: ['model', 'version'],
      registers: [registry],
    });
    this.outcomes = new prom.Counter({
      name: 'vigil_outcomes_total',
      help: 'Outcomes recorded and joined to their prediction, by model, version and observed label.',
      labelNames: ['model', 'version', 'label'],
      registers: [registry],
    });
    this.score = new prom.Histogram({
      name: 'vigil_prediction_score',
      help: 'Distribution of predicted probabilities, by model and version.',
      labelNames: ['model', 'version'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers: [registry],
    });
    this.auroc = new prom.Gauge({
      name: 'vigil_model_auroc',
      help: 'AUROC from the latest evaluate() of the model and version (version="all" when not filtered).',
      labelNames: ['model', 'version'],
      registers: [registry],
    });
    this.rejected = new prom.Counter({
      name: 'vigil_monitor_rejected_total',
      help: 'Records rejected by validation, by reason (invalid_<field>).',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  setAuroc(labels: Labels<'model' | 'version'>, value: number | null): void {
    if (value === null) this.auroc.remove(labels);
    else this.auroc.set(labels, value);
  }

  text(): Promise<string> {
    return this.#registry.metrics();
  }
}
