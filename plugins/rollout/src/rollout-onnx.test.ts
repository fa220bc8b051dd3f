/**
 * The rollout plugin against the embedded onnx server and the local monitor: predictions
 * reach the controller through the server's `predictions` hook, labelled outcomes reach
 * the AUROC check through the Monitor port, errors through the server's stats().
 */

import { localMonitor } from '@vigil/adapter-local-monitor';
import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import { type OnnxServer, onnxServer, ROUTE_KEY_HEADER } from '@vigil/adapter-onnx-server';
import type {
  ComponentContext,
  InferenceRequest,
  ModelArtifact,
  Monitor,
  PredictionRecord,
} from '@vigil/core';
import { createRng, featureMapOf } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CanaryController } from './canary/canary-controller.js';
import type { Decision } from './canary/rollout-state.js';
import { StatsDeltas } from './canary/stats-deltas.js';
import type { CanaryConfigInput } from './config.js';
import { type RolloutPluginInstance, rolloutPlugin } from './plugin.js';
import { seldonModelName, toSeldonExperiment, toSeldonPlan } from './seldon/seldon-experiment.js';

const features = ['a', 'b', 'c', 'd'];
const W = [0.8, -0.4, 1.2, 0.3];
const B = -0.2;
const champion = logisticRegressionOnnx({ weights: W, bias: B, featureNames: features });
/** Nearly the champion: slightly rescaled weights. */
const good = logisticRegressionOnnx({
  weights: W.map((w) => w * 1.03),
  bias: B + 0.02,
  featureNames: features,
});
/** Sabotaged: weights inverted and the bias shifted, so scores pile up near 1 and rank patients backwards. */
const sabotaged = logisticRegressionOnnx({ weights: W.map((w) => -w), bias: 2.5, featureNames: features });

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Patients with fixed features (float32, as the model reads them) and an outcome drawn from the champion's model. */
const patients = (() => {
  const rng = createRng(20260105);
  return Array.from({ length: 8000 }, (_, i) => {
    const x = features.map(() => Math.fround(rng.normal()));
    const p = sigmoid(x.reduce((s, v, j) => s + v * W[j]!, B));
    return { id: `patient-${i}`, x, label: (rng.next() < p ? 1 : 0) as 0 | 1 };
  });
})();
const labelByFeatures = new Map(patients.map((p) => [p.x.join('|'), p.label]));

function request(patient: (typeof patients)[number], at?: number): InferenceRequest {
  return {
    inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: patient.x }],
    ...(at === undefined ? {} : { parameters: { timestamp: new Date(at).toISOString() } }),
  };
}

const canary: CanaryConfigInput = {
  minRequests: 200,
  maxErrorRate: 0.01,
  maxScorePsi: 0.2,
  maxAurocDrop: 0.1,
  minLabels: 100,
  maxP99Ms: 1000,
};

interface Rig {
  ctx: TestContext;
  server: OnnxServer;
  monitor: Monitor;
  plugin: RolloutPluginInstance;
  dir: string;
}

const open: Rig[] = [];
afterEach(async () => {
  for (const rig of open.splice(0).reverse()) {
    await rig.server.close();
    await (rig.plugin.close?.() ?? Promise.resolve());
    await rig.monitor.close();
    await rig.ctx.cleanup();
  }
});

/**
 * Server, monitor and plugin wired as the kernel wires them: the server's `predictions`
 * hook goes to the monitor (with each patient's outcome, labelled at once) and to the plugin.
 */
async function rig(options: { challenger: ModelArtifact; workdir?: string; seed?: number }): Promise<Rig> {
  const ctx = await createTestContext({
    seed: options.seed ?? 5,
    ...(options.workdir ? { workdir: options.workdir } : {}),
  });
  let plugin: RolloutPluginInstance | undefined;
  const monitor = await localMonitor.create(localMonitor.config.parse({}), ctx);
  const emitting: ComponentContext = {
    ...ctx,
    emit: async (hook, arg) => {
      if (hook !== 'predictions') return;
      const records = arg as readonly PredictionRecord[];
      await monitor.recordPredictions([...records]);
      await monitor.recordOutcomes(
        records.map((r) => ({
          predictionId: r.predictionId,
          label: labelByFeatures.get(features.map((f) => featureMapOf(r.features!)[f]).join('|'))!,
          at: r.at,
        })),
      );
      await plugin?.hooks.predictions?.(records);
    },
  };
  const server = (await onnxServer.create(
    onnxServer.config.parse({ emitFlushMs: 5 }),
    emitting,
  )) as OnnxServer;
  await server.load({ name: 'ae', version: 'v1', artifact: champion });
  await server.load({ name: 'ae', version: 'v2', artifact: options.challenger });
  await server.route('ae', { candidates: [{ version: 'v1', weight: 100 }] });
  const pluginCtx: ComponentContext = {
    ...ctx,
    port: ((name: string) => (name === 'server' ? server : monitor)) as ComponentContext['port'],
  };
  plugin = (await rolloutPlugin.create(
    rolloutPlugin.config.parse(canary),
    pluginCtx,
  )) as RolloutPluginInstance;
  const made: Rig = { ctx, server, monitor, plugin, dir: `${ctx.workdir}/rollout` };
  open.push(made);
  return made;
}

/**
 * One round of the simulated-time loop: `n` requests of random patients with their route
 * key at time `now`, predictions flushed through the hook, errors from stats(), evaluate.
 */
async function round(r: Rig, n: number, now: number, rng: ReturnType<typeof createRng>, deltas: StatsDeltas) {
  const answered: string[] = [];
  for (let i = 0; i < n; i++) {
    const patient = patients[rng.int(patients.length)]!;
    const response = await r.server.infer('ae', request(patient, now), { routeKey: patient.id });
    answered.push(response.model_version!);
  }
  await r.server.flushPredictions();
  const controller = r.plugin.rollouts.get('ae')!;
  controller.observe(deltas.next(r.server.stats().ae ?? {}));
  return { answered, decision: await controller.evaluate(now) };
}

/**
 * Parse the Experiment YAML back and compare its split with the challenger weight the decisions
 * named (not derived from the state the manifest is made from) and with the server's route.
 */
function expectSeldonMatches(r: Rig, challengerWeight: number) {
  const state = r.plugin.rollouts.get('ae')!.state!;
  const experiment = parse(toSeldonExperiment(state, { namespace: 'seldon-mesh' }));
  const versionOf = (name: string) => ['v1', 'v2'].find((v) => seldonModelName('ae', v) === name);
  expect(experiment).toMatchObject({
    apiVersion: 'mlops.seldon.io/v1alpha1',
    kind: 'Experiment',
    metadata: { name: 'ae-rollout', namespace: 'seldon-mesh' },
    spec: { default: 'ae-v1' },
  });
  const fromYaml = (experiment.spec.candidates as { name: string; weight: number }[])
    .filter((c) => c.weight > 0)
    .map((c) => ({ version: versionOf(c.name), weight: c.weight }));
  const expected = [
    { version: 'v2', weight: challengerWeight },
    { version: 'v1', weight: 100 - challengerWeight },
  ].filter((c) => c.weight > 0);
  expect(fromYaml).toEqual(expected);
  expect(r.server.getRoute('ae')!.candidates.filter((c) => c.weight > 0)).toEqual(expected);
}

describe('rollout on the onnx server', () => {
  it('(a) a good challenger walks 5 → 10 → 25 → 50 and completes at 100 %; Seldon manifests match each route', async () => {
    const r = await rig({ challenger: good });
    const t0 = Date.parse('2026-01-05T08:00:00Z');
    const start = await r.plugin.rollouts.start('ae', 'v1', 'v2', t0);
    expect(start).toMatchObject({ action: 'start', step: 1, weight: 5 });
    expectSeldonMatches(r, 5);
    const rng = createRng(1);
    const deltas = new StatsDeltas();
    const decisions: Decision[] = [];
    let weight = 5;
    for (let i = 1; i <= 40 && r.plugin.rollouts.get('ae')!.state!.status === 'running'; i++) {
      const { decision } = await round(r, 500, t0 + i * 60_000, rng, deltas);
      if (decision.action !== 'hold') {
        decisions.push(decision);
        weight = decision.weight;
      }
      expectSeldonMatches(r, weight);
    }
    expect(decisions.map((d) => [d.action, d.weight])).toEqual([
      ['advance', 10],
      ['advance', 25],
      ['advance', 50],
      ['complete', 100],
    ]);
    for (const d of decisions) {
      expect(d.checks.map((c) => [c.name, c.passed])).toEqual([
        ['errorRate', true],
        ['p99Ms', true],
        ['scorePsi', true],
        ['aurocDrop', true],
      ]);
    }
    expect(r.server.getRoute('ae')).toEqual({ candidates: [{ version: 'v2', weight: 100 }] });
    const after = await round(r, 50, t0 + 99 * 60_000, rng, deltas);
    expect(new Set(after.answered)).toEqual(new Set(['v2']));
    // the plan: one manifest per step, the last with the champion kept at weight 0
    const plan = toSeldonPlan(r.plugin.rollouts.get('ae')!.state!)
      .split('---\n')
      .map((doc) => parse(doc));
    expect(plan.map((e) => e.spec.candidates)).toEqual([
      ...[5, 10, 25, 50].map((w) => [
        { name: 'ae-v2', weight: w },
        { name: 'ae-v1', weight: 100 - w },
      ]),
      [
        { name: 'ae-v2', weight: 100 },
        { name: 'ae-v1', weight: 0 },
      ],
    ]);
  });

  it('(b, c) a sabotaged challenger is rolled back at step 1 while HTTP clients see no failed request', async () => {
    const r = await rig({ challenger: sabotaged });
    const { url } = await r.server.listen({});
    await r.plugin.rollouts.start('ae', 'v1', 'v2', Date.now());
    let stop = false;
    const failures: string[] = [];
    const answers: { version: string; at: number }[] = [];
    const client = async (seed: number) => {
      const rng = createRng(seed);
      while (!stop) {
        const patient = patients[rng.int(patients.length)]!;
        try {
          const response = await fetch(`${url}/v2/models/ae/infer`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', [ROUTE_KEY_HEADER]: patient.id },
            body: JSON.stringify(request(patient)),
          });
          if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
          else {
            const body = (await response.json()) as { model_version: string };
            answers.push({ version: body.model_version, at: Date.now() });
          }
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = [1, 2, 3, 4, 5, 6].map(client);
    const deltas = new StatsDeltas();
    const controller = r.plugin.rollouts.get('ae')!;
    let decision: Decision | undefined;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await r.server.flushPredictions();
      controller.observe(deltas.next(r.server.stats().ae ?? {}));
      decision = await controller.evaluate(Date.now());
      if (decision.action !== 'hold') break;
    }
    const rolledBackAt = Date.now();
    // keep the load on after the rollback
    while (answers.filter((a) => a.at > rolledBackAt + 50).length < 300) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(answers.length).toBeGreaterThan(1000);
    // whichever check is judged first breaks: AUROC (100 labels each) or PSI (200 scores each)
    expect(decision).toMatchObject({ action: 'rollback', step: 1, weight: 0 });
    const failed = decision!.failed!;
    expect(['scorePsi', 'aurocDrop']).toContain(failed.check);
    expect(failed.value).toBeGreaterThan(failed.check === 'scorePsi' ? 1 : 0.3);
    const label = failed.check === 'scorePsi' ? 'scorePsi' : 'AUROC drop';
    expect(decision!.reason!.startsWith(`${label} `)).toBe(true);
    expect(decision!.reason).toMatch(new RegExp(`> ${failed.limit} at step 1 \\(5 %\\)`));
    for (const check of decision!.checks.filter((c) => c.passed !== null)) {
      expect([check.name, check.passed]).toEqual([
        check.name,
        !['scorePsi', 'aurocDrop'].includes(check.name),
      ]);
    }
    expect(r.server.getRoute('ae')).toEqual({ candidates: [{ version: 'v1', weight: 100 }] });
    const late = answers.filter((a) => a.at > rolledBackAt + 50);
    expect(new Set(late.map((a) => a.version))).toEqual(new Set(['v1']));
    expect(answers.some((a) => a.version === 'v2')).toBe(true);
    const state = controller.state!;
    expect(state.status).toBe('rolled-back');
    expect(state.history.at(-1)!.reason).toBe(decision!.reason);
    expectSeldonMatches(r, 0);
  });

  it('(d) routing is sticky per patient, and patients on the challenger at 5 % stay on it at 10 %', async () => {
    const r = await rig({ challenger: good });
    const t0 = Date.parse('2026-01-05T08:00:00Z');
    await r.plugin.rollouts.start('ae', 'v1', 'v2', t0);
    const cohort = patients.slice(0, 2000);
    const onChallenger = async () => {
      const set = new Set<string>();
      for (const patient of cohort) {
        const versions = new Set<string>();
        for (let k = 0; k < 3; k++) {
          versions.add(
            (await r.server.infer('ae', request(patient), { routeKey: patient.id })).model_version!,
          );
        }
        expect(versions.size).toBe(1);
        if (versions.has('v2')) set.add(patient.id);
      }
      return set;
    };
    const at5 = await onChallenger();
    const rng = createRng(2);
    const deltas = new StatsDeltas();
    for (let i = 1; r.plugin.rollouts.get('ae')!.state!.stepIndex === 0; i++) {
      await round(r, 500, t0 + i * 60_000, rng, deltas);
      expect(i).toBeLessThan(20);
    }
    const byVersion = (route = r.server.getRoute('ae')!) =>
      Object.fromEntries(route.candidates.map((c) => [c.version, c.weight]));
    expect(byVersion()).toEqual({ v2: 10, v1: 90 });
    const at10 = await onChallenger();
    expect(at5.size).toBeGreaterThan(60);
    expect(at5.size).toBeLessThan(140);
    expect(at10.size).toBeGreaterThan(at5.size + 40);
    expect([...at5].filter((id) => !at10.has(id))).toEqual([]);
  });

  it('(e) after a restart a new controller continues at the same step and weight and finishes', async () => {
    const first = await rig({ challenger: good });
    const t0 = Date.parse('2026-01-05T08:00:00Z');
    await first.plugin.rollouts.start('ae', 'v1', 'v2', t0);
    const rng = createRng(3);
    let deltas = new StatsDeltas();
    let i = 1;
    for (; first.plugin.rollouts.get('ae')!.state!.stepIndex < 2; i++)
      await round(first, 500, t0 + i * 60_000, rng, deltas);
    const before = first.plugin.rollouts.get('ae')!.state!;
    expect(before.config.steps[before.stepIndex]).toBe(25);
    // restart: close the server and the plugin, keep the workdir
    const workdir = first.ctx.workdir;
    await first.server.close();
    await first.plugin.close?.();
    open.splice(open.indexOf(first), 1);
    await first.monitor.close();

    const second = await rig({ challenger: good, workdir });
    // as vigil serve does once the versions are loaded: resume from the directory, which
    // re-applies the route
    expect(second.plugin.rollouts.models()).toEqual([]);
    await second.plugin.rollouts.resumeAll();
    expect(second.plugin.rollouts.models()).toEqual(['ae']);
    expect(second.server.getRoute('ae')!.candidates).toEqual([
      { version: 'v2', weight: 25 },
      { version: 'v1', weight: 75 },
    ]);
    const resumed = second.plugin.rollouts.get('ae')!.state!;
    expect(resumed.stepIndex).toBe(before.stepIndex);
    expect(resumed.history).toEqual(before.history);
    // and a bare controller resumes the same file the same way
    const bare = await CanaryController.resume(second.dir, second.server, 'ae', { outcomes: second.monitor });
    expect(bare.state!.stepIndex).toBe(2);
    deltas = new StatsDeltas();
    for (; second.plugin.rollouts.get('ae')!.state!.status === 'running'; i++) {
      await round(second, 500, t0 + i * 60_000, rng, deltas);
      expect(i).toBeLessThan(40);
    }
    expect(second.plugin.rollouts.get('ae')!.state!.history.map((d) => [d.action, d.weight])).toEqual([
      ['start', 5],
      ['advance', 10],
      ['advance', 25],
      ['advance', 50],
      ['complete', 100],
    ]);
    expect(second.server.getRoute('ae')).toEqual({ candidates: [{ version: 'v2', weight: 100 }] });
  });
});
