import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  featureMapOf,
  isFeatureRow,
  type OutcomeRecord,
  type PredictionRecord,
} from '../domain/prediction.js';
import { VigilError } from '../errors.js';
import { auroc } from '../metrics/auroc.js';
import { averagePrecision } from '../metrics/average-precision.js';
import { calibrationCurve } from '../metrics/calibration.js';
import { datasetDrift } from '../metrics/drift/dataset-drift.js';
import { psiTest } from '../metrics/drift/psi.js';
import {
  type DriftReport,
  type DriftRequest,
  type EvaluateRequest,
  type Evaluation,
  type Monitor,
  type MonitorCapabilities,
  monitorWindowMs,
} from '../ports/monitor.js';
import { checkContract } from './contract.js';
import { type MonitorFixture, monitorContract } from './monitor-contract.js';

type Bug =
  | 'none'
  | 'untied-auroc'
  | 'double-counting'
  | 'dropped-early-outcomes'
  | 'ignored-version'
  | 'no-validation'
  | 'leaky-metrics'
  | 'forgetful'
  | 'ignored-site'
  | 'window-boundary'
  | 'unweighted-ece'
  | 'latency-mean'
  | 'drift-self'
  | 'row-offset'
  | 'row-by-reference';

interface State {
  predictions: PredictionRecord[];
  outcomes: OutcomeRecord[];
}

/** Pairwise AUROC where a tie earns nothing: the classic mistake. */
function untiedAuroc(scores: number[], labels: number[]): number | null {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++)
    for (let j = 0; j < scores.length; j++)
      if (labels[i] === 1 && labels[j] === 0) {
        pairs++;
        if (scores[i]! > scores[j]!) wins++;
      }
  return pairs === 0 ? null : wins / pairs;
}

const invalid = (field: string) => new VigilError('VIGIL_MONITOR_INVALID_RECORD', `${field} is invalid`);
const validDate = (d: unknown) => d instanceof Date && !Number.isNaN(d.getTime());

/** A record's features by name, whichever form it carries them in; `row-offset` reads a feature row from its block's start. */
function byName(p: PredictionRecord, bug: Bug): Record<string, number | null> {
  if (p.features === undefined) return {};
  if (bug === 'row-offset' && isFeatureRow(p.features)) return featureMapOf({ ...p.features, offset: 0 });
  return featureMapOf(p.features);
}

/** An in-memory reference monitor, correct unless given a bug; shares `state` across reopens. */
class MemoryMonitor implements Monitor {
  readonly capabilities: MonitorCapabilities = { prometheus: true, drift: true, calibration: true };
  readonly #state: State;
  readonly #bug: Bug;
  readonly #counters = new Map<string, number>();
  readonly #servers: Server[] = [];

  constructor(state: State, bug: Bug) {
    this.#state = state;
    this.#bug = bug;
  }

  #count(line: string): void {
    this.#counters.set(line, (this.#counters.get(line) ?? 0) + 1);
  }

  async recordPredictions(records: PredictionRecord[]): Promise<void> {
    if (this.#bug !== 'no-validation') {
      for (const r of records) {
        if (!r.predictionId) throw invalid('predictionId');
        if (!r.model) throw invalid('model');
        if (!(r.score >= 0 && r.score <= 1)) throw invalid('score');
        if (!validDate(r.at)) throw invalid('at');
      }
    }
    for (const r of records) {
      const known = this.#state.predictions.some((p) => p.predictionId === r.predictionId);
      if (known && this.#bug !== 'double-counting') continue;
      // Feature values are copied: the caller may reuse its block once this resolves.
      this.#state.predictions.push(
        r.features === undefined || this.#bug === 'row-by-reference'
          ? r
          : { ...r, features: byName(r, this.#bug) },
      );
      this.#count(`vigil_predictions_total{model="${r.model}",version="${r.version}"}`);
      this.#count(`vigil_prediction_score_count{model="${r.model}",version="${r.version}"}`);
      const early = this.#state.outcomes.find((o) => o.predictionId === r.predictionId);
      if (early)
        this.#count(`vigil_outcomes_total{model="${r.model}",version="${r.version}",label="${early.label}"}`);
    }
  }

  async recordOutcomes(records: OutcomeRecord[]): Promise<void> {
    if (this.#bug !== 'no-validation') {
      for (const r of records) {
        if (r.label !== 0 && r.label !== 1) throw invalid('label');
        if (!validDate(r.at)) throw invalid('at');
      }
    }
    for (const r of records) {
      const known = this.#state.outcomes.some((o) => o.predictionId === r.predictionId);
      if (known && this.#bug !== 'double-counting') continue;
      const p = this.#state.predictions.find((x) => x.predictionId === r.predictionId);
      if (!p && this.#bug === 'dropped-early-outcomes') continue;
      this.#state.outcomes.push(r);
      if (p)
        this.#count(`vigil_outcomes_total{model="${p.model}",version="${p.version}",label="${r.label}"}`);
    }
  }

  #select(request: EvaluateRequest): PredictionRecord[] {
    let since = request.since?.getTime() ?? Number.NEGATIVE_INFINITY;
    let until = request.until?.getTime() ?? Number.POSITIVE_INFINITY;
    if (request.window !== undefined) {
      if (request.until === undefined) {
        const times = this.#state.predictions.filter((p) => p.model === request.model).map((p) => +p.at);
        // the latest is inside the window: until is just after it
        until = Math.max(Number.NEGATIVE_INFINITY, ...times) + 1;
      }
      const start = until - monitorWindowMs[request.window] - (this.#bug === 'window-boundary' ? 1 : 0);
      since = Math.max(since, start);
    }
    return this.#state.predictions.filter(
      (p) =>
        p.model === request.model &&
        (request.version === undefined || this.#bug === 'ignored-version' || p.version === request.version) &&
        (request.site === undefined || this.#bug === 'ignored-site' || p.site === request.site) &&
        +p.at >= since &&
        +p.at < until,
    );
  }

  async evaluate(request: EvaluateRequest): Promise<Evaluation> {
    const threshold = request.threshold ?? 0.5;
    const chosen = this.#select(request);
    const scores: number[] = [];
    const labels: number[] = [];
    for (const p of chosen) {
      const o = this.#state.outcomes.find((x) => x.predictionId === p.predictionId);
      if (o) {
        scores.push(p.score);
        labels.push(o.label);
      }
    }
    const tp = scores.filter((s, i) => s >= threshold && labels[i] === 1).length;
    const flagged = scores.filter((s) => s >= threshold).length;
    const positives = labels.filter((l) => l === 1).length;
    const area = this.#bug === 'untied-auroc' ? untiedAuroc(scores, labels) : auroc(scores, labels);
    if (area !== null)
      this.#counters.set(
        `vigil_model_auroc{model="${request.model}",version="${request.version ?? 'all'}"}`,
        area,
      );
    const curve = calibrationCurve(scores, labels);
    const gaps = curve.map((b) => Math.abs(b.meanPredicted - b.observedRate));
    const ece =
      scores.length === 0
        ? null
        : this.#bug === 'unweighted-ece'
          ? gaps.reduce((sum, g) => sum + g, 0) / gaps.length
          : curve.reduce((sum, b, i) => sum + (b.count / scores.length) * gaps[i]!, 0);
    const latencies = chosen
      .flatMap((p) => (p.latencyMs === undefined ? [] : [p.latencyMs]))
      .sort((x, y) => x - y);
    const rank = (q: number) =>
      latencies.length === 0
        ? null
        : this.#bug === 'latency-mean'
          ? latencies.reduce((sum, l) => sum + l, 0) / latencies.length
          : latencies[Math.ceil(q * latencies.length) - 1]!;
    return {
      predictions: chosen.length,
      labelled: scores.length,
      positives,
      auroc: area,
      precision: flagged ? tp / flagged : null,
      recall: positives ? tp / positives : null,
      brier: scores.length
        ? scores.reduce((sum, s, i) => sum + (s - labels[i]!) ** 2, 0) / scores.length
        : null,
      meanScore: chosen.length ? chosen.reduce((sum, p) => sum + p.score, 0) / chosen.length : null,
      auprc: averagePrecision(scores, labels),
      ece,
      calibration: curve.map(({ meanPredicted, observedRate, count }) => ({
        meanPredicted,
        observedRate,
        count,
      })),
      fallbackRate: chosen.length ? chosen.filter((p) => p.fallback === true).length / chosen.length : null,
      latencyP50Ms: rank(0.5),
      latencyP99Ms: rank(0.99),
    };
  }

  async drift(request: DriftRequest): Promise<DriftReport> {
    const reference = this.#select({
      ...request,
      window: undefined,
      since: request.reference.since,
      until: request.reference.until,
    });
    const current = this.#bug === 'drift-self' ? reference : this.#select(request);
    const names =
      request.features ??
      [...new Set([...reference, ...current].flatMap((p) => Object.keys(byName(p, this.#bug))))].sort();
    const has = (rows: PredictionRecord[], name: string) =>
      rows.some((p) => typeof byName(p, this.#bug)[name] === 'number');
    const tested = names.filter((n) => has(reference, n) && has(current, n));
    const result = tested.length
      ? datasetDrift(
          tested.map((name) => ({
            name,
            reference: reference.map((p) => byName(p, this.#bug)[name] ?? null),
            current: current.map((p) => byName(p, this.#bug)[name] ?? null),
          })),
          { driftShare: request.driftShare ?? 0.5 },
        )
      : undefined;
    return {
      referencePredictions: reference.length,
      currentPredictions: current.length,
      features: (result?.columns ?? []).map((c) => ({
        feature: c.column!,
        test: c.test,
        columnType: c.columnType,
        statistic: c.statistic,
        pValue: c.kind === 'p_value' ? c.statistic : null,
        distance: c.kind === 'distance' ? c.statistic : null,
        threshold: c.threshold,
        drifted: c.drifted,
        referenceRows: c.referenceRows,
        currentRows: c.currentRows,
      })),
      skipped: names.filter((n) => !tested.includes(n)).map((feature) => ({ feature, reason: 'no value' })),
      driftShare: result?.share ?? 0,
      driftShareThreshold: request.driftShare ?? 0.5,
      datasetDrift: result?.drifted ?? false,
      scorePsi:
        reference.length && current.length
          ? psiTest(
              reference.map((p) => p.score),
              current.map((p) => p.score),
              { columnType: 'numerical' },
            ).statistic
          : null,
    };
  }

  async metrics(): Promise<string> {
    const lines = [...this.#counters].map(([series, value]) => `${series} ${value}`);
    if (this.#bug === 'leaky-metrics') {
      for (const p of this.#state.predictions) lines.push(`vigil_entity_seen{entity="${p.entityKey}"} 1`);
    }
    return `${lines.join('\n')}\n`;
  }

  async listen(options: { host?: string; port?: number }): Promise<{ url: string }> {
    const server = createServer((request, response) => {
      if (request.url !== '/metrics') return void response.writeHead(404).end();
      void this.metrics().then((body) => response.writeHead(200, { 'content-type': 'text/plain' }).end(body));
    });
    await new Promise<void>((resolve) =>
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
    );
    this.#servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` };
  }

  async close(): Promise<void> {
    for (const server of this.#servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
}

function memoryFixture(bug: Bug): () => Promise<MonitorFixture> {
  return async () => {
    const state: State = { predictions: [], outcomes: [] };
    const opened: Monitor[] = [new MemoryMonitor(state, bug)];
    return {
      impl: opened[0]!,
      reopen: async () => {
        const monitor = new MemoryMonitor(
          bug === 'forgetful' ? { predictions: [], outcomes: [] } : state,
          bug,
        );
        opened.push(monitor);
        return monitor;
      },
      cleanup: async () => {
        for (const monitor of opened) await monitor.close();
      },
    };
  };
}

async function failedCases(bug: Bug): Promise<string[]> {
  const report = await checkContract(monitorContract, memoryFixture(bug));
  expect(report.skipped).toEqual([]);
  return report.failed.map((f) => f.name);
}

const caseName = (fragment: string): string => {
  const found = monitorContract.cases.find((c) => c.name.includes(fragment));
  if (!found) throw new Error(`no monitor contract case mentions '${fragment}'`);
  return found.name;
};

describe('monitor contract', () => {
  it('passes a correct in-memory monitor', async () => {
    expect(await failedCases('none')).toEqual([]);
  });

  it.each([
    ['untied-auroc', ['hand-made set']],
    ['double-counting', ['idempotent', 'survive a reopen']],
    ['dropped-early-outcomes', ['before its prediction', 'survive a reopen']],
    ['ignored-version', ['filters by version']],
    ['no-validation', ['invalid records']],
    ['leaky-metrics', ['never an entity key']],
    ['forgetful', ['as feature rows', 'survive a reopen']],
    ['ignored-site', ['filters by site']],
    ['window-boundary', ['rolling window']],
    ['unweighted-ece', ['ECE and the reliability curve']],
    ['latency-mean', ['latency p50/p99']],
    ['drift-self', ['drift flags a shifted feature', 'as feature rows']],
    ['row-offset', ['as feature rows']],
    ['row-by-reference', ['as feature rows']],
  ] as const)('fails a monitor with %s in exactly the matching cases', async (bug, fragments) => {
    expect(await failedCases(bug)).toEqual(fragments.map(caseName));
  });
});
