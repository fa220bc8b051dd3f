import { join } from 'node:path';
import type { ComponentContext, PredictionRecord, RouteSpec } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { StatsDeltas } from './canary/stats-deltas.js';
import { canaryConfig } from './config.js';
import { type RolloutPluginInstance, rolloutPlugin, rolloutPluginConfig, rolloutStateDir } from './plugin.js';

class RouteLog {
  readonly routes = new Map<string, RouteSpec>();
  async route(name: string, spec: RouteSpec): Promise<void> {
    this.routes.set(name, structuredClone(spec));
  }
}

const contexts: TestContext[] = [];
afterEach(async () => {
  for (const ctx of contexts.splice(0)) await ctx.cleanup();
});

async function plugin(config: Record<string, unknown>, server = new RouteLog(), workdir?: string) {
  const ctx = await createTestContext(workdir ? { workdir } : {});
  contexts.push(ctx);
  const monitor = { evaluate: async () => ({ labelled: 0, auroc: null }) };
  const pluginCtx: ComponentContext = {
    ...ctx,
    port: ((name: string) => (name === 'server' ? server : monitor)) as ComponentContext['port'],
  };
  const instance = (await rolloutPlugin.create(
    rolloutPlugin.config.parse(config),
    pluginCtx,
  )) as RolloutPluginInstance;
  return { instance, server, ctx };
}

const record = (version: string, i: number, model = 'ae'): PredictionRecord => ({
  predictionId: `${version}-${i}`,
  model,
  version,
  entityKey: `k${i}`,
  score: (i % 100) / 100,
  at: new Date(),
  latencyMs: 3,
});

describe('rolloutPlugin', () => {
  it('declares itself and describes every config field', () => {
    expect(rolloutPlugin).toMatchObject({ kind: 'plugin', name: 'rollout', requires: ['server', 'monitor'] });
    for (const [key, field] of Object.entries(rolloutPluginConfig.shape)) {
      expect([key, typeof (field as { description?: string }).description]).toEqual([key, 'string']);
    }
    expect(canaryConfig.parse({})).toEqual({
      mode: 'canary',
      steps: [5, 10, 25, 50, 100],
      minRequests: 100,
      maxErrorRate: 0.01,
      maxScorePsi: 0.2,
      minLabels: 50,
      aurocRequired: false,
      maxSamples: 5000,
    });
    expect(rolloutPluginConfig.safeParse({ colour: 'red' }).success).toBe(false);
  });

  it('the predictions hook feeds each model’s records to its rollout; other models are left alone', async () => {
    const { instance, server } = await plugin({ minRequests: 50, maxScorePsi: null });
    await instance.rollouts.start('ae', 'v1', 'v2');
    expect(server.routes.get('ae')!.candidates).toEqual([
      { version: 'v2', weight: 5 },
      { version: 'v1', weight: 95 },
    ]);
    const records = [
      ...Array.from({ length: 400 }, (_, i) => record('v1', i)),
      ...Array.from({ length: 60 }, (_, i) => record('v2', i)),
      ...Array.from({ length: 60 }, (_, i) => record('v2', i, 'other')),
    ];
    await instance.hooks.predictions!(records);
    const state = instance.rollouts.get('ae')!.state!;
    expect([state.window.champion.answered, state.window.challenger.answered]).toEqual([400, 60]);
    const decisions = await instance.rollouts.evaluateAll();
    expect(decisions.get('ae')).toMatchObject({ action: 'advance', weight: 10 });
    // a malformed record is logged, never thrown into the data path
    expect(() => instance.hooks.predictions!([{ ...record('v2', 1), score: Number.NaN }])).not.toThrow();
    await instance.close!();
  });

  it('with evaluateEveryMs it picks up rollouts written to its directory and evaluates them on a timer', async () => {
    const { instance, server, ctx } = await plugin({
      minRequests: 50,
      maxScorePsi: null,
      evaluateEveryMs: 100,
    });
    // another process (a command) starts a rollout in the same directory
    const other = await plugin({ minRequests: 50, maxScorePsi: null }, new RouteLog(), ctx.workdir);
    await other.instance.rollouts.start('ae', 'v1', 'v2');
    // both name the same directory, which a command finds from the config alone
    expect(instance.dir).toBe(join(ctx.workdir, 'rollout'));
    expect(other.instance.dir).toBe(rolloutStateDir({}, ctx.workdir));
    expect([instance.evaluateEveryMs, other.instance.evaluateEveryMs]).toEqual([100, undefined]);
    expect(rolloutStateDir({ dir: 'x/y' }, ctx.workdir)).toBe(join(process.cwd(), 'x/y'));
    const deadline = Date.now() + 5000;
    while (!instance.rollouts.get('ae') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server.routes.get('ae')!.candidates[0]).toEqual({ version: 'v2', weight: 5 });
    await instance.hooks.predictions!([
      ...Array.from({ length: 400 }, (_, i) => record('v1', i)),
      ...Array.from({ length: 60 }, (_, i) => record('v2', i)),
    ]);
    while (instance.rollouts.get('ae')!.state!.stepIndex === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(server.routes.get('ae')!.candidates[0]).toEqual({ version: 'v2', weight: 10 });
    await instance.close!();
  });
});

describe('StatsDeltas', () => {
  it('returns what grew since the last call, and counts from zero after a counter went down', () => {
    const deltas = new StatsDeltas();
    expect(deltas.next({ v1: { errors: 3, fallbacks: 1 }, v2: { errors: 0 } })).toEqual({
      errors: { v1: 3, v2: 0 },
      fallbacks: { v1: 1, v2: 0 },
    });
    expect(deltas.next({ v1: { errors: 5, fallbacks: 1 }, v2: { errors: 2, fallbacks: 2 } })).toEqual({
      errors: { v1: 2, v2: 2 },
      fallbacks: { v1: 0, v2: 2 },
    });
    expect(deltas.next({ v1: { errors: 1, fallbacks: 0 } }).errors).toEqual({ v1: 1 });
  });
});
