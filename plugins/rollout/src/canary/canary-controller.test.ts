import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvaluateRequest, RouteSpec } from '@vigil/core';
import { createRng, isVigilError } from '@vigil/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CanaryConfigInput } from '../config.js';
import { CanaryController, type PredictionObservation } from './canary-controller.js';
import { readState, statePath } from './rollout-state.js';

/** Records the routes it is given (the control-plane side of a Server). */
class RouteLog {
  readonly routes = new Map<string, RouteSpec>();
  readonly calls: { name: string; spec: RouteSpec }[] = [];
  async route(name: string, spec: RouteSpec): Promise<void> {
    this.calls.push({ name, spec: structuredClone(spec) });
    this.routes.set(name, structuredClone(spec));
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-rollout-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-01-05T08:00:00Z');
const rng = createRng(11);

/** n records of `version` with uniform scores (optionally transformed) and 10 ms latency. */
function records(
  version: string,
  n: number,
  options: {
    score?: (u: number) => number;
    latencyMs?: (i: number) => number;
    fallback?: (i: number) => boolean;
  } = {},
): PredictionObservation[] {
  return Array.from({ length: n }, (_, i) => ({
    version,
    score: (options.score ?? ((u) => u))(rng.next()),
    latencyMs: options.latencyMs ? options.latencyMs(i) : 10,
    fallback: options.fallback ? options.fallback(i) : false,
  }));
}

async function controller(config: CanaryConfigInput = {}, outcomes?: (r: EvaluateRequest) => Promise<never>) {
  const server = new RouteLog();
  const c = new CanaryController({
    server,
    dir,
    config: { minRequests: 100, ...config },
    ...(outcomes ? { outcomes } : {}),
  });
  await c.start('ae', 'v1', 'v2', T0);
  return { c, server };
}

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return isVigilError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  return 'no error';
}

describe('CanaryController: steps', () => {
  it('routes the challenger first at 5 %, holds without enough requests, then walks 10/25/50 and completes at 100', async () => {
    const { c, server } = await controller();
    expect(server.routes.get('ae')).toEqual({
      candidates: [
        { version: 'v2', weight: 5 },
        { version: 'v1', weight: 95 },
      ],
    });
    c.observe({ predictions: [...records('v1', 500), ...records('v2', 99)] });
    const hold = await c.evaluate(T0 + 1000);
    expect(hold).toMatchObject({
      action: 'hold',
      step: 1,
      weight: 5,
      reason: 'waiting: 99/100 challenger requests',
    });
    const seen: [string, number, number][] = [];
    for (const [i, weight] of [5, 10, 25, 50].entries()) {
      c.observe({ predictions: [...records('v1', 400), ...records('v2', 150)] });
      const d = await c.evaluate(T0 + 2000 + i * 1000);
      seen.push([d.action, d.step, d.weight]);
      expect(d.checks.map((k) => [k.name, k.passed])).toEqual([
        ['errorRate', true],
        ['scorePsi', true],
      ]);
      if (weight < 50) {
        expect(server.routes.get('ae')!.candidates[0]).toEqual({ version: 'v2', weight: d.weight });
      }
    }
    expect(seen).toEqual([
      ['advance', 2, 10],
      ['advance', 3, 25],
      ['advance', 4, 50],
      ['complete', 5, 100],
    ]);
    expect(server.routes.get('ae')).toEqual({ candidates: [{ version: 'v2', weight: 100 }] });
    // terminal: evaluate changes nothing
    const calls = server.calls.length;
    expect((await c.evaluate(T0 + 99_000)).action).toBe('complete');
    expect(server.calls.length).toBe(calls);
    expect(c.state!.history.map((d) => d.action)).toEqual([
      'start',
      'advance',
      'advance',
      'advance',
      'complete',
    ]);
  });

  it('starts every step afresh: observations of the previous step and records from before it are not counted', async () => {
    const { c } = await controller();
    c.observe({ predictions: [...records('v1', 400), ...records('v2', 150)] });
    expect((await c.evaluate(T0 + 1000)).action).toBe('advance');
    const stale = records('v2', 150).map((r) => ({ ...r, at: new Date(T0 + 500) }));
    c.observe({ predictions: [...stale, ...records('v1', 300), ...records('v3', 500)] });
    const d = await c.evaluate(T0 + 2000);
    expect(d).toMatchObject({ action: 'hold', step: 2, reason: 'waiting: 0/100 challenger requests' });
    expect(c.state!.window.champion.answered).toBe(300);
  });

  it('waits for minDurationMs', async () => {
    const { c } = await controller({ minDurationMs: 60_000 });
    c.observe({ predictions: [...records('v1', 400), ...records('v2', 150)] });
    expect((await c.evaluate(T0 + 59_999)).reason).toBe('waiting: 59999/60000 ms of the step');
    expect((await c.evaluate(T0 + 60_000)).action).toBe('advance');
  });

  it('writes the state atomically after every decision; holds are not in the history', async () => {
    const { c } = await controller();
    const file = statePath(dir, 'ae');
    expect(JSON.parse(await readFile(file, 'utf8')).last.action).toBe('start');
    await c.evaluate(T0 + 1);
    const state = JSON.parse(await readFile(file, 'utf8'));
    expect(state.last.action).toBe('hold');
    expect(state.history.map((d: { action: string }) => d.action)).toEqual(['start']);
  });
});

describe('CanaryController: each check fails on its own', () => {
  const base = () => [...records('v1', 1000), ...records('v2', 200)];

  it('error rate', async () => {
    const { c, server } = await controller({ maxErrorRate: 0.02 });
    c.observe({ predictions: base(), errors: { v2: 5, v1: 50 } });
    const d = await c.evaluate(T0 + 1000);
    expect(d.action).toBe('rollback');
    expect(d.failed).toEqual({ check: 'errorRate', value: 5 / 205, limit: 0.02 });
    expect(d.reason).toBe('errorRate 0.0244 > 0.02 at step 1 (5 %) (5 errors / 205 challenger requests)');
    expect(d.checks.filter((k) => k.passed === false).map((k) => k.name)).toEqual(['errorRate']);
    expect(server.routes.get('ae')).toEqual({ candidates: [{ version: 'v1', weight: 100 }] });
    expect(c.state!.status).toBe('rolled-back');
  });

  it('error rate just under the limit passes', async () => {
    const { c } = await controller({ maxErrorRate: 0.02 });
    c.observe({ predictions: base(), errors: { v2: 4 } });
    expect((await c.evaluate(T0 + 1000)).action).toBe('advance');
  });

  it('p99 latency', async () => {
    const { c } = await controller({ maxP99Ms: 50 });
    // 3 of 200 challenger answers take 200 ms: the 99th percentile (rank 198) is 200
    c.observe({
      predictions: [...records('v1', 1000), ...records('v2', 200, { latencyMs: (i) => (i < 3 ? 200 : 10) })],
    });
    const d = await c.evaluate(T0 + 1000);
    expect(d.failed).toEqual({ check: 'p99Ms', value: 200, limit: 50 });
    expect(d.checks.filter((k) => k.passed === false).map((k) => k.name)).toEqual(['p99Ms']);
  });

  it('p99 latency with 1 slow answer in 200 passes', async () => {
    const { c } = await controller({ maxP99Ms: 50 });
    c.observe({
      predictions: [...records('v1', 1000), ...records('v2', 200, { latencyMs: (i) => (i < 2 ? 200 : 10) })],
    });
    expect((await c.evaluate(T0 + 1000)).action).toBe('advance');
  });

  it('score PSI', async () => {
    const { c } = await controller();
    c.observe({
      predictions: [...records('v1', 1000), ...records('v2', 200, { score: (u) => 0.5 + u / 2 })],
    });
    const d = await c.evaluate(T0 + 1000);
    expect(d.failed?.check).toBe('scorePsi');
    expect(d.failed!.value).toBeGreaterThan(1);
    expect(d.checks.filter((k) => k.passed === false).map((k) => k.name)).toEqual(['scorePsi']);
    expect(d.reason).toMatch(
      /^scorePsi \d+\.\d+ > 0\.2 at step 1 \(5 %\) \(200 challenger vs 1000 champion scores/,
    );
  });

  it('training–serving skew PSI: served scores against the same rows scored offline', async () => {
    const skewed = await controller({ maxSkewPsi: 0.2, maxScorePsi: null });
    const served = records('v2', 200);
    skewed.c.observe({
      predictions: [
        ...records('v1', 1000),
        // The offline scores of the same rows are low where the served ones are spread out.
        ...served.map((p) => ({ ...p, reference: p.score! / 4 })),
      ],
    });
    const d = await skewed.c.evaluate(T0 + 1000);
    expect(d.failed?.check).toBe('skewPsi');
    expect(d.reason).toMatch(/^skewPsi \d+\.\d+ > 0\.2 at step 1/);

    const healthy = await controller({ maxSkewPsi: 0.2, maxScorePsi: null });
    healthy.c.observe({
      predictions: [
        ...records('v1', 1000),
        ...records('v2', 200).map((p) => ({ ...p, reference: p.score! })),
      ],
    });
    const ok = await healthy.c.evaluate(T0 + 1000);
    expect(ok.action).toBe('advance');
    expect(ok.checks.find((k) => k.name === 'skewPsi')).toMatchObject({ value: 0, passed: true });
  });

  it('fallback rate', async () => {
    const { c } = await controller({ maxFallbackRate: 0.05, maxErrorRate: null });
    // fallback records are ignored (they name the fallback's answer); the counts carry them
    c.observe({
      predictions: [
        ...records('v1', 1000),
        ...records('v2', 180),
        ...records('v2', 20, { fallback: () => true }),
      ],
      errors: { v2: 20 },
      fallbacks: { v2: 20 },
    });
    const d = await c.evaluate(T0 + 1000);
    expect(d.failed).toEqual({ check: 'fallbackRate', value: 0.1, limit: 0.05 });
    expect(d.checks.filter((k) => k.passed === false).map((k) => k.name)).toEqual(['fallbackRate']);
    expect(c.state!.window.challenger.answered).toBe(180);
  });

  it('AUROC drop, judged only once both versions have minLabels labels', async () => {
    let labels = 20;
    const requests: EvaluateRequest[] = [];
    const outcomes = async (r: EvaluateRequest) => {
      requests.push(r);
      return { labelled: labels, auroc: r.version === 'v1' ? 0.8 : 0.7 };
    };
    const { c } = await controller({ maxAurocDrop: 0.05, minLabels: 50 }, outcomes as never);
    c.observe({ predictions: base() });
    // not enough labels: not judged, and (aurocRequired false) it does not hold the step
    const first = await c.evaluate(T0 + 1000);
    expect(first.action).toBe('advance');
    expect(first.checks.find((k) => k.name === 'aurocDrop')).toMatchObject({ passed: null });
    expect(requests[0]).toEqual({ model: 'ae', version: 'v1', since: new Date(T0) });
    labels = 50;
    c.observe({ predictions: base() });
    const d = await c.evaluate(T0 + 2000);
    expect(d.action).toBe('rollback');
    expect(d.failed!.check).toBe('aurocDrop');
    expect(d.failed!.value).toBeCloseTo(0.1, 12);
    expect(d.step).toBe(2);
    expect(d.reason).toBe(
      'AUROC drop 0.1 > 0.05 at step 2 (10 %) (champion AUROC 0.8 on 50 labels, challenger 0.7 on 50)',
    );
    expect(d.checks.filter((k) => k.passed === false).map((k) => k.name)).toEqual(['aurocDrop']);
  });

  it('aurocRequired holds the step until the labels exist', async () => {
    const outcomes = async () => ({ labelled: 10, auroc: 0.8 });
    const { c } = await controller({ maxAurocDrop: 0.05, aurocRequired: true }, outcomes as never);
    c.observe({ predictions: base() });
    const d = await c.evaluate(T0 + 1000);
    expect(d.action).toBe('hold');
    expect(d.reason).toMatch(/^waiting: aurocDrop: champion AUROC 0\.8 on 10 labels/);
  });
});

describe('CanaryController: shadow mode', () => {
  it('serves the champion, mirrors the challenger, and rolls back on the mirror’s PSI', async () => {
    const { c, server } = await controller({ mode: 'shadow' });
    expect(server.routes.get('ae')).toEqual({
      candidates: [{ version: 'v1', weight: 100 }],
      mirror: { version: 'v2', percent: 100 },
    });
    c.observe({ predictions: [...records('v1', 300), ...records('v2', 300, { score: (u) => u * u * u })] });
    const d = await c.evaluate(T0 + 1000);
    expect(d).toMatchObject({ action: 'rollback', step: 1, weight: 0 });
    expect(d.reason).toMatch(/^scorePsi .* in shadow/);
    expect(server.routes.get('ae')).toEqual({ candidates: [{ version: 'v1', weight: 100 }] });
    expect(server.calls.every((call) => call.spec.candidates.every((k) => k.version === 'v1'))).toBe(true);
  });

  it('completes with the champion alone when the mirror passes, never serving the challenger', async () => {
    const { c, server } = await controller({ mode: 'shadow' });
    c.observe({ predictions: [...records('v1', 300), ...records('v2', 300)], errors: { v2: 0 } });
    const d = await c.evaluate(T0 + 1000);
    expect(d).toMatchObject({ action: 'complete', weight: 0 });
    expect(server.routes.get('ae')).toEqual({ candidates: [{ version: 'v1', weight: 100 }] });
    expect(server.calls.every((call) => call.spec.candidates.every((k) => k.version === 'v1'))).toBe(true);
  });
});

describe('CanaryController: persistence and resume', () => {
  it('a new controller continues at the same step and weight, with the step’s observations', async () => {
    const { c } = await controller();
    c.observe({ predictions: [...records('v1', 400), ...records('v2', 150)] });
    await c.evaluate(T0 + 1000); // → step 2
    c.observe({ predictions: [...records('v1', 400), ...records('v2', 60)] });
    await c.evaluate(T0 + 2000); // hold, persists 60 challenger answers
    const server = new RouteLog();
    const resumed = await CanaryController.resume(dir, server, 'ae');
    expect(server.routes.get('ae')).toEqual({
      candidates: [
        { version: 'v2', weight: 10 },
        { version: 'v1', weight: 90 },
      ],
    });
    expect(resumed.state!.window.challenger.answered).toBe(60);
    resumed.observe({ predictions: [...records('v1', 100), ...records('v2', 40)] });
    expect(await resumed.evaluate(T0 + 3000)).toMatchObject({ action: 'advance', step: 3, weight: 25 });
    for (let t = 4; resumed.state!.status === 'running'; t++) {
      resumed.observe({ predictions: [...records('v1', 400), ...records('v2', 150)] });
      await resumed.evaluate(T0 + t * 1000);
    }
    expect(resumed.state!.status).toBe('completed');
    expect((await readState(dir, 'ae')).history.map((d) => [d.action, d.weight])).toEqual([
      ['start', 5],
      ['advance', 10],
      ['advance', 25],
      ['advance', 50],
      ['complete', 100],
    ]);
  });

  it('refuses a second start of a running rollout, and names what is wrong with a bad state file', async () => {
    await controller();
    const other = new CanaryController({ server: new RouteLog(), dir });
    expect(await errorOf(other.start('ae', 'v1', 'v3', T0))).toMatch(
      /^VIGIL_REGISTRY_ALREADY_EXISTS: rollout start: model 'ae' already has a running rollout \(v1 → v2, step 1\)/,
    );
    expect(await errorOf(CanaryController.resume(dir, new RouteLog(), 'nope'))).toMatch(
      /^VIGIL_PIPELINE_RUN_UNKNOWN: rollout state .*nope\.json: no rollout of model 'nope' to resume$/,
    );
    const state = JSON.parse(await readFile(statePath(dir, 'ae'), 'utf8'));
    state.stepIndex = 7;
    await writeFile(statePath(dir, 'ae'), JSON.stringify(state));
    expect(await errorOf(CanaryController.resume(dir, new RouteLog(), 'ae'))).toMatch(
      /stepIndex: 7 is not a step of config\.steps$/,
    );
  });
});

describe('CanaryController: abort', () => {
  it('routes the champion alone, records the reason as a rollback, persists it, and is final', async () => {
    const { c, server } = await controller();
    c.observe({ predictions: [...records('v1', 400), ...records('v2', 150)] });
    await c.evaluate(T0 + 1000); // → step 2 (10 %)
    const decision = await c.abort('champion alias moved to v3 by hand', T0 + 2000);
    expect(decision).toMatchObject({
      action: 'rollback',
      step: 2,
      weight: 0,
      reason: 'aborted: champion alias moved to v3 by hand',
    });
    expect(server.routes.get('ae')).toEqual({ candidates: [{ version: 'v1', weight: 100 }] });
    const persisted = await readState(dir, 'ae');
    expect(persisted.status).toBe('rolled-back');
    expect(persisted.history.at(-1)?.reason).toBe('aborted: champion alias moved to v3 by hand');
    // final: neither a second abort nor an evaluation changes it
    expect(await c.abort('again', T0 + 3000)).toEqual(decision);
    c.observe({ predictions: records('v2', 500) });
    expect(await c.evaluate(T0 + 4000)).toEqual(decision);
    expect(await errorOf(c.abort('  ', T0))).toMatch(/^VIGIL_CONFIG_INVALID: rollout abort: reason/);
    expect(await errorOf(new CanaryController({ server, dir }).abort('x', T0))).toMatch(
      /^VIGIL_KERNEL_NOT_STARTED/,
    );
  });
});

describe('CanaryController: input errors', () => {
  it('reports every config problem with its path', async () => {
    const e = await errorOf(
      () => new CanaryController({ server: new RouteLog(), dir, config: { steps: [10, 5, 50] } }),
    );
    expect(e).toBe(
      'VIGIL_CONFIG_INVALID: rollout config: steps.1: steps must increase: step 2 (5) is not above step 1 (10); steps.2: the last step must be 100 (the challenger takes all traffic), got 50',
    );
    expect(
      await errorOf(
        () => new CanaryController({ server: new RouteLog(), dir, config: { maxAurocDrop: 0.1 } }),
      ),
    ).toBe(
      'VIGIL_CONFIG_INVALID: rollout config: maxAurocDrop: needs an outcomes source (a Monitor or an evaluate function) to read AUROC from',
    );
  });

  it('rejects malformed observations, naming the field', async () => {
    const { c } = await controller();
    expect(await errorOf(() => c.observe({ predictions: [{ version: 'v2', score: Number.NaN }] }))).toBe(
      'VIGIL_MONITOR_INVALID_RECORD: rollout observe: predictions[0].score: must be a finite number, got NaN',
    );
    expect(await errorOf(() => c.observe({ errors: { v2: -1 } }))).toBe(
      'VIGIL_MONITOR_INVALID_RECORD: rollout observe: errors.v2: must be an integer >= 0, got -1',
    );
    expect(await errorOf(new CanaryController({ server: new RouteLog(), dir }).evaluate(T0))).toBe(
      'VIGIL_KERNEL_NOT_STARTED: rollout evaluate: call start() or resume() first',
    );
    expect(await errorOf(c.start('ae', 'v1', 'v1', T0))).toBe(
      "VIGIL_SERVER_INVALID_ROUTE: rollout start: challenger must differ from champion (both 'v1')",
    );
  });
});
