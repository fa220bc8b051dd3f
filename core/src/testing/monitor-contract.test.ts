import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { OutcomeRecord, PredictionRecord } from '../domain/prediction.js';
import { VigilError } from '../errors.js';
import { auroc } from '../metrics/auroc.js';
import type { EvaluateRequest, Evaluation, Monitor, MonitorCapabilities } from '../ports/monitor.js';
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
  | 'forgetful';

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

/** An in-memory reference monitor, correct unless given a bug; shares `state` across reopens. */
class MemoryMonitor implements Monitor {
  readonly capabilities: MonitorCapabilities = { prometheus: true, drift: false, calibration: false };
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
      this.#state.predictions.push(r);
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

  async evaluate(request: EvaluateRequest): Promise<Evaluation> {
    const threshold = request.threshold ?? 0.5;
    const chosen = this.#state.predictions.filter(
      (p) =>
        p.model === request.model &&
        (request.version === undefined || this.#bug === 'ignored-version' || p.version === request.version) &&
        (request.since === undefined || p.at >= request.since) &&
        (request.until === undefined || p.at < request.until),
    );
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
    ['forgetful', ['survive a reopen']],
  ] as const)('fails a monitor with %s in exactly the matching cases', async (bug, fragments) => {
    expect(await failedCases(bug)).toEqual(fragments.map(caseName));
  });
});
