import { join } from 'node:path';
import {
  type DriftReport,
  type DriftRequest,
  type EvaluateRequest,
  type Evaluation,
  type FeatureRow,
  isFeatureRow,
  type Logger,
  type Monitor,
  type MonitorCapabilities,
  type MonitorWindow,
  monitorWindowMs,
  type OutcomeRecord,
  type PredictionRecord,
  VigilError,
} from '@vigil/core';
import type { z } from 'zod';
import { driftReport } from './drift-report.js';
import { evaluateScores } from './evaluation.js';
import { type FeatureSet, FeatureSets, journalValues } from './feature-rows.js';
import { NdjsonJournal } from './journal.js';
import type { MetricsEndpoint } from './metrics-server.js';
import { serveMetrics } from './metrics-server.js';
import type { MonitorMetrics } from './monitor-metrics.js';
import { type IndexedPrediction, PredictionIndex } from './prediction-index.js';
import {
  findIssues,
  isValidOutcomeRecord,
  isValidPredictionRecord,
  outcomeRecordSchema,
  predictionRecordSchema,
} from './record-schema.js';

export interface LocalMonitorOptions {
  /** Absolute folder of the journals. */
  dir: string;
  capabilities: MonitorCapabilities;
  metrics: MonitorMetrics;
  logger: Logger;
  /** Threshold for the precision/recall gauges of `metrics()`. Default 0.5. */
  threshold?: number;
  /** Drift on a schedule (see `ScheduledDrift`); absent: only when `drift()` is asked. */
  drift?: ScheduledDrift;
  /** Wall clock of the schedule (ms). Default Date.now. */
  now?: () => number;
}

/**
 * Drift computed when the metrics are rendered (a scrape of `/metrics`), per model, at most
 * every `everyMinutes` and only when the model has new predictions or outcomes since: the
 * last `window` of its predictions against its first `referenceDays` days (the period right
 * after deployment). Not before the two periods are apart.
 */
export interface ScheduledDrift {
  referenceDays: number;
  window: MonitorWindow;
  everyMinutes: number;
  driftShare: number;
}

/**
 * A journal line of `predictions.ndjson`. Features come by name (`features`), or as the values
 * (`x`, null where missing) of a feature set defined on an earlier line (`featureSet`): what a
 * record that carried a `FeatureRow` is written as.
 */
interface PredictionLine {
  predictionId: string;
  model: string;
  version: string;
  entityKey: string;
  score: number;
  at: string;
  features?: Record<string, number | null>;
  featureSet?: string;
  x?: (number | null)[];
  site?: string;
  latencyMs?: number;
  fallback?: boolean;
  shadowOf?: string;
}

/**
 * A line of `predictions.ndjson` naming a feature set: written before the first line that uses
 * it, in the same append, by every monitor instance that writes one (the key is the names' hash).
 */
interface FeatureSetLine {
  featureSet: string;
  featureNames: string[];
}

function isFeatureSetLine(value: unknown): value is FeatureSetLine {
  const v = value as FeatureSetLine;
  return (
    typeof v?.featureSet === 'string' &&
    Array.isArray(v.featureNames) &&
    v.featureNames.every((n) => typeof n === 'string' && n !== '') &&
    (v as { predictionId?: unknown }).predictionId === undefined
  );
}

/** A journal line of `outcomes.ndjson`. */
interface OutcomeLine {
  predictionId: string;
  label: 0 | 1;
  at: string;
}

const WINDOWS: readonly MonitorWindow[] = ['day', 'week'];

function invalidRecord(message: string, details?: Record<string, unknown>): VigilError {
  return new VigilError('VIGIL_MONITOR_INVALID_RECORD', message, details ? { details } : {});
}

function isPredictionLine(value: unknown): value is PredictionLine {
  const v = value as PredictionLine;
  return (
    typeof v?.predictionId === 'string' &&
    typeof v.model === 'string' &&
    typeof v.version === 'string' &&
    typeof v.score === 'number' &&
    !Number.isNaN(Date.parse(v.at))
  );
}

function indexed(
  line: PredictionLine | PredictionRecord,
  at: number,
  features: FeatureRow | undefined,
): IndexedPrediction {
  const id = line.predictionId;
  return {
    id,
    model: line.model,
    version: line.version,
    site: typeof line.site === 'string' ? line.site : undefined,
    score: line.score,
    at,
    latencyMs:
      typeof line.latencyMs === 'number' && Number.isFinite(line.latencyMs) ? line.latencyMs : undefined,
    fallback: line.fallback === true,
    features,
    label: undefined,
    shadowOf: typeof line.shadowOf === 'string' && line.shadowOf !== '' ? line.shadowOf : undefined,
  };
}

function checkDate(method: string, field: string, value: unknown): void {
  if (value !== undefined && !(value instanceof Date && !Number.isNaN(value.getTime())))
    throw invalidRecord(`${method}: ${field} must be a valid Date`);
}

function checkOptionalString(method: string, field: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0))
    throw invalidRecord(`${method}: ${field} must be a non-empty string`);
}

/** Check the selection fields shared by evaluate and drift. */
function checkSelection(method: string, request: Partial<EvaluateRequest> | undefined): void {
  if (request === null || typeof request !== 'object')
    throw invalidRecord(`${method}: request must be an object`);
  const { model, window } = request;
  if (typeof model !== 'string' || model.length === 0)
    throw invalidRecord(`${method}: model must be a non-empty string`);
  checkOptionalString(method, 'version', request.version);
  checkOptionalString(method, 'site', request.site);
  checkDate(method, 'since', request.since);
  checkDate(method, 'until', request.until);
  if (window !== undefined && !WINDOWS.includes(window))
    throw invalidRecord(
      `${method}: window must be one of ${WINDOWS.join(', ')}, got ${JSON.stringify(window)}`,
    );
}

function isOutcomeLine(value: unknown): value is OutcomeLine {
  const v = value as OutcomeLine;
  return (
    typeof v?.predictionId === 'string' && (v.label === 0 || v.label === 1) && !Number.isNaN(Date.parse(v.at))
  );
}

/**
 * The embedded Monitor. Predictions and outcomes are appended to two NDJSON journals
 * (`predictions.ndjson`, `outcomes.ndjson`) and held in memory by prediction id; a new
 * instance reloads them, and `evaluate` first reads what other processes appended since.
 *
 * Recording is idempotent by prediction id (the first record wins); an outcome whose
 * prediction has not arrived is kept and joined when it does. A batch with any invalid
 * record is rejected whole, with every issue in `details.issues`.
 *
 * Prometheus counters are per process, as usual: they count what this instance recorded
 * (an outcome once its prediction's model and version are known), starting from zero.
 * The window gauges (`vigil_monitor_*{window, site}`) are computed from the journals at
 * each `metrics()` call, and only for models whose data changed since the last one.
 *
 * Predictions are indexed per model by time (prediction-index.ts): a window costs two
 * binary searches plus the work on the rows inside it, never a rescan of the journals.
 */
export class LocalMonitor implements Monitor {
  readonly capabilities: MonitorCapabilities;
  readonly #metrics: MonitorMetrics;
  readonly #logger: Logger;
  readonly #predictionJournal: NdjsonJournal;
  readonly #outcomeJournal: NdjsonJournal;
  readonly #index = new PredictionIndex();
  readonly #featureSets = new FeatureSets();
  /** Feature sets this instance has defined in its prediction journal. */
  readonly #written = new WeakSet<FeatureSet>();
  readonly #threshold: number;
  /** Per model, the index generation last published as window gauges. */
  readonly #published = new Map<string, number>();
  /** Outcomes recorded here whose prediction is not known yet: counted when it is. */
  readonly #uncounted = new Set<string>();
  readonly #endpoints: MetricsEndpoint[] = [];
  readonly #scheduledDrift: ScheduledDrift | undefined;
  readonly #now: () => number;
  /** Per model, the index generation and wall time of the last scheduled drift. */
  readonly #driftRuns = new Map<string, { generation: number; at: number }>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: LocalMonitorOptions) {
    this.capabilities = options.capabilities;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#threshold = options.threshold ?? 0.5;
    this.#scheduledDrift = options.drift;
    this.#now = options.now ?? Date.now;
    this.#predictionJournal = new NdjsonJournal(join(options.dir, 'predictions.ndjson'));
    this.#outcomeJournal = new NdjsonJournal(join(options.dir, 'outcomes.ndjson'));
  }

  /** Open (or create) the journals under `dir` and load what they hold. */
  static async open(options: LocalMonitorOptions): Promise<LocalMonitor> {
    const monitor = new LocalMonitor(options);
    try {
      await monitor.#predictionJournal.open();
      await monitor.#outcomeJournal.open();
      await monitor.#refresh();
    } catch (error) {
      await monitor.#predictionJournal.close();
      await monitor.#outcomeJournal.close();
      throw error;
    }
    return monitor;
  }

  async recordPredictions(records: PredictionRecord[]): Promise<void> {
    this.#checkOpen();
    this.#validate('recordPredictions', predictionRecordSchema, records, isValidPredictionRecord);
    await this.#serially(async () => {
      const fresh = this.#fresh(records, (id) => this.#index.hasPrediction(id));
      const lines: (PredictionLine | FeatureSetLine)[] = [];
      const defined: FeatureSet[] = [];
      for (const r of fresh) {
        let set: FeatureSet | undefined;
        if (isFeatureRow(r.features)) {
          set = this.#featureSets.of(r.features.names);
          if (!this.#written.has(set) && !defined.includes(set)) {
            defined.push(set);
            lines.push({ featureSet: set.key, featureNames: [...set.names] });
          }
        }
        lines.push({
          predictionId: r.predictionId,
          model: r.model,
          version: r.version,
          entityKey: r.entityKey,
          score: r.score,
          at: r.at.toISOString(),
          ...(set !== undefined
            ? { featureSet: set.key, x: journalValues(r.features as FeatureRow) }
            : r.features === undefined
              ? {}
              : { features: r.features as Record<string, number | null> }),
          ...(r.site === undefined ? {} : { site: r.site }),
          ...(r.latencyMs === undefined ? {} : { latencyMs: r.latencyMs }),
          ...(r.fallback === undefined ? {} : { fallback: r.fallback }),
          ...(r.shadowOf === undefined ? {} : { shadowOf: r.shadowOf }),
        });
      }
      await this.#predictionJournal.append(lines);
      for (const set of defined) this.#written.add(set);
      // Counters are added once per model and version of the batch (the same totals as one
      // `inc` per record, with fewer label lookups).
      let labels: { model: string; version: string } | undefined;
      let score: { observe(value: number): void } | undefined;
      let latency: { observe(value: number): void } | undefined;
      let count = 0;
      let fallbacks = 0;
      const addCounts = () => {
        if (labels === undefined) return;
        this.#metrics.predictions.inc(labels, count);
        // Zero until the first fallback, so the fallback rate is 0 rather than absent.
        this.#metrics.fallbacks.inc(labels, fallbacks);
      };
      for (const r of fresh) {
        this.#addPrediction(
          indexed(r, +r.at, r.features === undefined ? undefined : this.#featureSets.row(r.features)),
        );
        if (labels === undefined || labels.model !== r.model || labels.version !== r.version) {
          addCounts();
          labels = { model: r.model, version: r.version };
          // The labelled children: one label lookup per group, not per record.
          score = this.#metrics.score.labels(labels);
          latency = this.#metrics.latency.labels(labels);
          count = 0;
          fallbacks = 0;
        }
        count++;
        if (r.fallback === true) fallbacks++;
        score!.observe(r.score);
        if (r.latencyMs !== undefined) latency!.observe(r.latencyMs / 1000);
      }
      addCounts();
    });
  }

  async recordOutcomes(records: OutcomeRecord[]): Promise<void> {
    this.#checkOpen();
    this.#validate('recordOutcomes', outcomeRecordSchema, records, isValidOutcomeRecord);
    await this.#serially(async () => {
      const fresh = this.#fresh(records, (id) => this.#index.hasOutcome(id));
      await this.#outcomeJournal.append(
        fresh.map(
          (r): OutcomeLine => ({ predictionId: r.predictionId, label: r.label, at: r.at.toISOString() }),
        ),
      );
      for (const r of fresh) {
        this.#index.addOutcome(r.predictionId, { label: r.label, at: +r.at });
        this.#uncounted.add(r.predictionId);
        this.#countOutcome(r.predictionId);
      }
    });
  }

  async evaluate(request: EvaluateRequest): Promise<Evaluation> {
    this.#checkOpen();
    checkSelection('evaluate', request);
    const threshold = request.threshold ?? 0.5;
    if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
      throw invalidRecord(`evaluate: threshold must be a number in [0, 1], got ${String(threshold)}`);
    }
    const { model, version } = request;
    return this.#serially(async () => {
      await this.#refresh();
      const evaluation = evaluateScores(this.#index.select(this.#selection(request)), threshold);
      this.#metrics.setAuroc({ model, version: version ?? 'all' }, evaluation.auroc);
      return evaluation;
    });
  }

  /**
   * Drift of the current window (since/until/window, as in `evaluate`) against the
   * predictions made in `reference` (same model, version and site). Also published as the
   * `vigil_monitor_drift_share`, `…_dataset_drift`, `…_score_psi`, `…_feature_drift_score`
   * and `…_feature_drifted` gauges, labelled version/site "all" when not filtered.
   */
  async drift(request: DriftRequest): Promise<DriftReport> {
    this.#checkOpen();
    checkSelection('drift', request);
    const { reference, features } = request;
    if (reference === null || typeof reference !== 'object')
      throw invalidRecord('drift: reference must be an object { since?, until? }');
    checkDate('drift', 'reference.since', reference.since);
    checkDate('drift', 'reference.until', reference.until);
    if (
      features !== undefined &&
      !(Array.isArray(features) && features.every((f) => typeof f === 'string' && f !== ''))
    )
      throw invalidRecord('drift: features must be an array of non-empty strings');
    const driftShare = request.driftShare ?? 0.5;
    if (typeof driftShare !== 'number' || !(driftShare >= 0 && driftShare <= 1))
      throw invalidRecord(`drift: driftShare must be a number in [0, 1], got ${String(driftShare)}`);
    return this.#serially(async () => {
      await this.#refresh();
      return this.#drift(request, driftShare);
    });
  }

  async metrics(): Promise<string> {
    this.#checkOpen();
    return this.#render();
  }

  async listen(options: { host?: string; port?: number } = {}): Promise<{ url: string }> {
    this.#checkOpen();
    const endpoint = await serveMetrics(
      { host: options.host ?? '127.0.0.1', port: options.port ?? 0 },
      async () => ({
        contentType: this.#metrics.contentType,
        body: await this.#render(),
      }),
    );
    this.#endpoints.push(endpoint);
    return { url: endpoint.url };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await Promise.all(this.#endpoints.splice(0).map((e) => e.close()));
    await this.#predictionJournal.close();
    await this.#outcomeJournal.close();
  }

  // ---- internals --------------------------------------------------------------------

  #checkOpen(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'local monitor used after close()');
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #validate(
    method: string,
    schema: z.ZodType,
    records: readonly unknown[],
    quick: (record: unknown) => boolean,
  ): void {
    if (!Array.isArray(records)) throw invalidRecord(`${method}: records must be an array`);
    const issues = findIssues(schema, records, quick);
    if (issues.length === 0) return;
    for (const issue of issues) this.#metrics.rejected.inc({ reason: `invalid_${issue.field}` });
    const shown = issues
      .slice(0, 5)
      .map((i) => `record ${i.index}: ${i.message}`)
      .join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    throw invalidRecord(
      `${method}: ${issues.length} of ${records.length} records rejected, nothing recorded: ${shown}${more}`,
      {
        issues: issues.map(({ index, field, message }) => ({ index, field, message })),
      },
    );
  }

  /** Records whose id is neither stored nor earlier in the batch. */
  #fresh<T extends { predictionId: string }>(records: readonly T[], stored: (id: string) => boolean): T[] {
    const seen = new Set<string>();
    return records.filter((r) => {
      if (stored(r.predictionId) || seen.has(r.predictionId)) return false;
      seen.add(r.predictionId);
      return true;
    });
  }

  #addPrediction(row: IndexedPrediction): void {
    this.#index.addPrediction(row);
    this.#countOutcome(row.id);
  }

  #countOutcome(id: string): void {
    if (!this.#uncounted.has(id)) return;
    const prediction = this.#index.prediction(id);
    if (!prediction || prediction.label === undefined) return;
    this.#uncounted.delete(id);
    this.#metrics.outcomes.inc({
      model: prediction.model,
      version: prediction.version,
      label: String(prediction.label),
    });
  }

  /**
   * The time range of an evaluate/drift request, `until` exclusive: since/until as given; a
   * window spans its length back from `until`, or back from the model's latest prediction
   * (included) when there is no `until`.
   */
  #selection(request: EvaluateRequest): {
    model: string;
    version?: string;
    site?: string;
    since: number;
    until: number;
  } {
    let since = request.since?.getTime() ?? Number.NEGATIVE_INFINITY;
    let until = request.until?.getTime() ?? Number.POSITIVE_INFINITY;
    if (request.window !== undefined) {
      if (request.until === undefined) until = this.#index.summary(request.model).latest + 1;
      since = Math.max(since, until - monitorWindowMs[request.window]);
    }
    return { model: request.model, version: request.version, site: request.site, since, until };
  }

  /** A checked drift request on the index as it is; publishes the report's gauges. */
  #drift(request: DriftRequest, driftShare: number): DriftReport {
    const { reference, features } = request;
    const referenceRows = this.#index.select({
      model: request.model,
      version: request.version,
      site: request.site,
      since: reference.since?.getTime() ?? Number.NEGATIVE_INFINITY,
      until: reference.until?.getTime() ?? Number.POSITIVE_INFINITY,
    });
    const currentRows = this.#index.select(this.#selection(request));
    const report = driftReport(referenceRows, currentRows, { features, driftShare });
    this.#metrics.setDrift(
      { model: request.model, version: request.version ?? 'all', site: request.site ?? 'all' },
      report,
    );
    return report;
  }

  /** Refresh from the journals, publish the window gauges of models that changed (and drift on its schedule), render. */
  #render(): Promise<string> {
    return this.#serially(async () => {
      await this.#refresh();
      for (const model of this.#index.models()) {
        this.#publishWindows(model);
        this.#driftOnSchedule(model);
      }
      return this.#metrics.text();
    });
  }

  /** The scheduled drift of one model, when it is due (see `ScheduledDrift`). */
  #driftOnSchedule(model: string): void {
    const schedule = this.#scheduledDrift;
    if (!schedule) return;
    const { earliest, latest, generation } = this.#index.summary(model);
    const now = this.#now();
    const last = this.#driftRuns.get(model);
    if (last && (last.generation === generation || now - last.at < schedule.everyMinutes * 60_000)) return;
    const referenceUntil = earliest + schedule.referenceDays * 86_400_000;
    const until = latest + 1;
    if (until - monitorWindowMs[schedule.window] < referenceUntil) return;
    this.#drift(
      {
        model,
        reference: { since: new Date(earliest), until: new Date(referenceUntil) },
        window: schedule.window,
        until: new Date(until),
      },
      schedule.driftShare,
    );
    this.#driftRuns.set(model, { generation, at: now });
  }

  /** Window gauges of one model: every version × window × site ("all" and each site). */
  #publishWindows(model: string): void {
    const { versions, sites, latest, generation } = this.#index.summary(model);
    if (this.#published.get(model) === generation) return;
    for (const version of versions)
      for (const window of WINDOWS)
        for (const site of [undefined, ...sites]) {
          const rows = this.#index.select({
            model,
            version,
            site,
            since: latest + 1 - monitorWindowMs[window],
            until: latest + 1,
          });
          this.#metrics.setWindow(
            { model, version, window, site: site ?? 'all' },
            evaluateScores(rows, this.#threshold),
          );
        }
    this.#published.set(model, generation);
  }

  /** A journal line's features as a stored row; null when they are unreadable (an unknown set, a wrong width, a value that is not a number). */
  #lineFeatures(line: PredictionLine): FeatureRow | undefined | null {
    if (typeof line.featureSet === 'string') {
      const set = this.#featureSets.byKey(line.featureSet);
      const x = line.x;
      if (
        set === undefined ||
        !Array.isArray(x) ||
        x.length !== set.names.length ||
        !x.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))
      )
        return null;
      return set.add((i) => x[i] ?? Number.NaN);
    }
    const { features } = line;
    if (features === null || typeof features !== 'object') return undefined;
    return this.#featureSets.row(
      Object.fromEntries(
        Object.entries(features).map(([name, v]) => [
          name,
          typeof v === 'number' && Number.isFinite(v) ? v : null,
        ]),
      ),
    );
  }

  /** Take in what the journals gained since the last read (earlier runs, other processes). */
  async #refresh(): Promise<void> {
    const predictions = await this.#predictionJournal.readNew();
    const outcomes = await this.#outcomeJournal.readNew();
    let corrupt = predictions.corrupt + outcomes.corrupt;
    for (const line of outcomes.values) {
      if (!isOutcomeLine(line)) corrupt++;
      else if (!this.#index.hasOutcome(line.predictionId)) {
        this.#index.addOutcome(line.predictionId, { label: line.label, at: Date.parse(line.at) });
      }
    }
    for (const line of predictions.values) {
      if (isFeatureSetLine(line)) {
        const set = this.#featureSets.of(line.featureNames);
        if (set.key !== line.featureSet) corrupt++;
      } else if (!isPredictionLine(line)) corrupt++;
      else if (!this.#index.hasPrediction(line.predictionId)) {
        const features = this.#lineFeatures(line);
        if (features === null) corrupt++;
        else this.#addPrediction(indexed(line, Date.parse(line.at), features));
      }
    }
    if (corrupt > 0) this.#logger.warn({ corrupt }, 'skipped unreadable monitor journal lines');
  }
}
