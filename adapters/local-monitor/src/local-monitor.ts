import { join } from 'node:path';
import {
  type EvaluateRequest,
  type Evaluation,
  type Logger,
  type Monitor,
  type MonitorCapabilities,
  type OutcomeRecord,
  type PredictionRecord,
  VigilError,
} from '@vigil/core';
import type { z } from 'zod';
import { evaluateScores, type LabelledScore } from './evaluation.js';
import { NdjsonJournal } from './journal.js';
import type { MetricsEndpoint } from './metrics-server.js';
import { serveMetrics } from './metrics-server.js';
import type { MonitorMetrics } from './monitor-metrics.js';
import { findIssues, outcomeRecordSchema, predictionRecordSchema } from './record-schema.js';

export interface LocalMonitorOptions {
  /** Absolute folder of the journals. */
  dir: string;
  capabilities: MonitorCapabilities;
  metrics: MonitorMetrics;
  logger: Logger;
}

interface StoredPrediction {
  model: string;
  version: string;
  score: number;
  at: number;
}

interface StoredOutcome {
  label: 0 | 1;
  at: number;
}

/** A journal line of `predictions.ndjson`. */
interface PredictionLine {
  predictionId: string;
  model: string;
  version: string;
  entityKey: string;
  score: number;
  at: string;
  features?: Record<string, number | null>;
}

/** A journal line of `outcomes.ndjson`. */
interface OutcomeLine {
  predictionId: string;
  label: 0 | 1;
  at: string;
}

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
 */
export class LocalMonitor implements Monitor {
  readonly capabilities: MonitorCapabilities;
  readonly #metrics: MonitorMetrics;
  readonly #logger: Logger;
  readonly #predictionJournal: NdjsonJournal;
  readonly #outcomeJournal: NdjsonJournal;
  readonly #predictions = new Map<string, StoredPrediction>();
  readonly #outcomes = new Map<string, StoredOutcome>();
  /** Outcomes recorded here whose prediction is not known yet: counted when it is. */
  readonly #uncounted = new Set<string>();
  readonly #endpoints: MetricsEndpoint[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: LocalMonitorOptions) {
    this.capabilities = options.capabilities;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
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
    this.#validate('recordPredictions', predictionRecordSchema, records);
    await this.#serially(async () => {
      const fresh = this.#fresh(records, this.#predictions);
      await this.#predictionJournal.append(
        fresh.map(
          (r): PredictionLine => ({
            predictionId: r.predictionId,
            model: r.model,
            version: r.version,
            entityKey: r.entityKey,
            score: r.score,
            at: r.at.toISOString(),
            ...(r.features === undefined ? {} : { features: r.features }),
          }),
        ),
      );
      for (const r of fresh) {
        this.#addPrediction(r.predictionId, {
          model: r.model,
          version: r.version,
          score: r.score,
          at: +r.at,
        });
        this.#metrics.predictions.inc({ model: r.model, version: r.version });
        this.#metrics.score.observe({ model: r.model, version: r.version }, r.score);
      }
    });
  }

  async recordOutcomes(records: OutcomeRecord[]): Promise<void> {
    this.#checkOpen();
    this.#validate('recordOutcomes', outcomeRecordSchema, records);
    await this.#serially(async () => {
      const fresh = this.#fresh(records, this.#outcomes);
      await this.#outcomeJournal.append(
        fresh.map(
          (r): OutcomeLine => ({ predictionId: r.predictionId, label: r.label, at: r.at.toISOString() }),
        ),
      );
      for (const r of fresh) {
        this.#outcomes.set(r.predictionId, { label: r.label, at: +r.at });
        this.#uncounted.add(r.predictionId);
        this.#countOutcome(r.predictionId);
      }
    });
  }

  async evaluate(request: EvaluateRequest): Promise<Evaluation> {
    this.#checkOpen();
    const { model, version } = request ?? {};
    if (typeof model !== 'string' || model.length === 0)
      throw invalidRecord('evaluate: model must be a non-empty string');
    if (version !== undefined && typeof version !== 'string')
      throw invalidRecord('evaluate: version must be a string');
    for (const field of ['since', 'until'] as const) {
      const value = request[field];
      if (value !== undefined && !(value instanceof Date && !Number.isNaN(value.getTime()))) {
        throw invalidRecord(`evaluate: ${field} must be a valid Date`);
      }
    }
    const threshold = request.threshold ?? 0.5;
    if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
      throw invalidRecord(`evaluate: threshold must be a number in [0, 1], got ${String(threshold)}`);
    }
    const since = request.since?.getTime() ?? Number.NEGATIVE_INFINITY;
    const until = request.until?.getTime() ?? Number.POSITIVE_INFINITY;
    return this.#serially(async () => {
      await this.#refresh();
      const items: LabelledScore[] = [];
      for (const [id, p] of this.#predictions) {
        if (p.model !== model || (version !== undefined && p.version !== version)) continue;
        if (p.at < since || p.at >= until) continue;
        items.push({ score: p.score, label: this.#outcomes.get(id)?.label });
      }
      const evaluation = evaluateScores(items, threshold);
      this.#metrics.setAuroc({ model, version: version ?? 'all' }, evaluation.auroc);
      return evaluation;
    });
  }

  async metrics(): Promise<string> {
    this.#checkOpen();
    return this.#metrics.text();
  }

  async listen(options: { host?: string; port?: number } = {}): Promise<{ url: string }> {
    this.#checkOpen();
    const endpoint = await serveMetrics(
      { host: options.host ?? '127.0.0.1', port: options.port ?? 0 },
      async () => ({
        contentType: this.#metrics.contentType,
        body: await this.#metrics.text(),
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

  #validate(method: string, schema: z.ZodType, records: readonly unknown[]): void {
    if (!Array.isArray(records)) throw invalidRecord(`${method}: records must be an array`);
    const issues = findIssues(schema, records);
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
  #fresh<T extends { predictionId: string }>(records: readonly T[], stored: Map<string, unknown>): T[] {
    const seen = new Set<string>();
    return records.filter((r) => {
      if (stored.has(r.predictionId) || seen.has(r.predictionId)) return false;
      seen.add(r.predictionId);
      return true;
    });
  }

  #addPrediction(id: string, prediction: StoredPrediction): void {
    this.#predictions.set(id, prediction);
    this.#countOutcome(id);
  }

  #countOutcome(id: string): void {
    if (!this.#uncounted.has(id)) return;
    const prediction = this.#predictions.get(id);
    const outcome = this.#outcomes.get(id);
    if (!prediction || !outcome) return;
    this.#uncounted.delete(id);
    this.#metrics.outcomes.inc({
      model: prediction.model,
      version: prediction.version,
      label: String(outcome.label),
    });
  }

  /** Take in what the journals gained since the last read (earlier runs, other processes). */
  async #refresh(): Promise<void> {
    const predictions = await this.#predictionJournal.readNew();
    const outcomes = await this.#outcomeJournal.readNew();
    let corrupt = predictions.corrupt + outcomes.corrupt;
    for (const line of outcomes.values) {
      if (!isOutcomeLine(line)) corrupt++;
      else if (!this.#outcomes.has(line.predictionId)) {
        this.#outcomes.set(line.predictionId, { label: line.label, at: Date.parse(line.at) });
      }
    }
    for (const line of predictions.values) {
      if (!isPredictionLine(line)) corrupt++;
      else if (!this.#predictions.has(line.predictionId)) {
        this.#addPrediction(line.predictionId, {
          model: line.model,
          version: line.version,
          score: line.score,
          at: Date.parse(line.at),
        });
      }
    }
    if (corrupt > 0) this.#logger.warn({ corrupt }, 'skipped unreadable monitor journal lines');
  }
}
