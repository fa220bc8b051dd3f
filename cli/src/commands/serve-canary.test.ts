import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHALLENGER,
  CHAMPION,
  createLogger,
  type LoadedModel,
  MODEL_SIGNATURE,
  type Registry,
  type RouteSpec,
  type Server,
  VigilError,
} from '@vigil/core';
import { type CanaryConfigInput, RolloutManager, readState } from '@vigil/plugin-rollout';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CANARY_TAG, ServeCanary, ServedVersions } from './serve-canary.js';

const NAME = 'ae';

/** The registry calls serve makes, in memory. */
class FakeRegistry {
  readonly aliases = new Map<string, string>();
  readonly tags = new Map<string, Record<string, string>>();
  constructor(versions: string[]) {
    for (const v of versions) this.tags.set(v, {});
  }
  async getModelVersion(name: string, version: string) {
    const tags = this.tags.get(version);
    if (!tags) throw new VigilError('VIGIL_REGISTRY_NOT_FOUND', `no version ${version}`);
    const aliases = [...this.aliases].filter(([, v]) => v === version).map(([a]) => a);
    return {
      name,
      version,
      runId: `run-${version}`,
      source: 'model/model.onnx',
      tags: { ...tags },
      aliases,
      createdAt: 0,
    };
  }
  async getVersionByAlias(name: string, alias: string) {
    const version = this.aliases.get(alias);
    if (version === undefined) throw new VigilError('VIGIL_REGISTRY_NOT_FOUND', `no alias ${alias}`);
    return this.getModelVersion(name, version);
  }
  async getArtifact(_runId: string, path: string): Promise<Uint8Array> {
    if (path !== MODEL_SIGNATURE) return new Uint8Array([1]);
    const signature = {
      format: 'onnx',
      inputs: [{ name: 'input', shape: [-1, 2] }],
      outputs: [],
      featureNames: ['a', 'b'],
    };
    return new TextEncoder().encode(JSON.stringify(signature));
  }
  async setModelVersionTag(_name: string, version: string, key: string, value: string) {
    this.tags.get(version)![key] = value;
  }
  async setAlias(_name: string, alias: string, version: string) {
    this.aliases.set(alias, version);
  }
  async deleteAlias(_name: string, alias: string) {
    this.aliases.delete(alias);
  }
}

/** Load, route and per-version counters, as the embedded server keeps them. */
class FakeServer {
  readonly loaded = new Set<string>();
  readonly unloadable = new Set<string>();
  route_: RouteSpec | undefined;
  counters: Record<string, { errors: number; fallbacks: number }> = {};
  async load(model: LoadedModel) {
    if (this.unloadable.has(model.version)) throw new Error('not a valid ONNX model');
    this.loaded.add(model.version);
  }
  async unload(_name: string, version: string) {
    this.loaded.delete(version);
  }
  async route(_name: string, spec: RouteSpec) {
    for (const c of spec.candidates)
      if (!this.loaded.has(c.version))
        throw new VigilError('VIGIL_SERVER_INVALID_ROUTE', `${c.version} not loaded`);
    this.route_ = structuredClone(spec);
  }
  setFallback() {}
  stats() {
    return { [NAME]: this.counters };
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-serve-canary-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setup(config: CanaryConfigInput = {}) {
  const registry = new FakeRegistry(['1', '2', '3']);
  registry.aliases.set(CHAMPION, '1');
  const server = new FakeServer();
  const logger = createLogger({ level: 'silent' });
  const said: string[] = [];
  const newCanary = () => {
    const rollouts = new RolloutManager({
      server,
      dir,
      config: { steps: [50, 100], minRequests: 10, maxScorePsi: null, ...config },
    });
    const versions = new ServedVersions(
      NAME,
      registry as unknown as Registry,
      server as unknown as Server,
      undefined,
    );
    const canary = new ServeCanary({
      versions,
      rollout: { rollouts, dir, evaluateEveryMs: undefined, hooks: {} },
      logger,
      say: (line) => said.push(line),
    });
    return { canary, rollouts, versions };
  };
  return { registry, server, said, newCanary };
}

const answers = (version: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    model: NAME,
    version,
    score: (i % 10) / 10,
    latencyMs: 2,
    at: new Date(),
  }));

describe('ServeCanary', () => {
  it('starts the challenger beside the champion, completes, and moves the champion alias', async () => {
    const { registry, server, said, newCanary } = setup();
    const { canary, rollouts } = newCanary();
    expect(await canary.tick('1')).toBe('idle'); // no challenger alias
    registry.aliases.set(CHALLENGER, '2');
    expect(await canary.tick('1')).toBe('running');
    expect([...server.loaded].sort()).toEqual(['1', '2']);
    expect(server.route_).toEqual({
      candidates: [
        { version: '2', weight: 50 },
        { version: '1', weight: 50 },
      ],
    });
    expect(await canary.tick('1')).toBe('running'); // holds: no requests yet
    rollouts.observePredictions([...answers('1', 10), ...answers('2', 10)]);
    expect(await canary.tick('1')).toBe('ended');
    expect(registry.aliases.get(CHAMPION)).toBe('2');
    expect(registry.aliases.has(CHALLENGER)).toBe(false);
    expect(registry.tags.get('2')).toMatchObject({
      [CANARY_TAG.decision]: 'completed',
      [CANARY_TAG.champion]: '1',
      'vigil.championSince': expect.any(String),
    });
    expect(said.at(-1)).toMatch(/^canary of ae completed: v2 is champion \(was v1\)/);
    expect(await canary.tick('2')).toBe('idle');
  });

  it("rolls back on the server's error counts, records why on the version and unloads it", async () => {
    const { registry, server, newCanary } = setup();
    const { canary, rollouts } = newCanary();
    server.counters = { '1': { errors: 3, fallbacks: 3 } }; // before the canary: not counted
    registry.aliases.set(CHALLENGER, '2');
    expect(await canary.tick('1')).toBe('running');
    rollouts.observePredictions([...answers('1', 20), ...answers('2', 9)]);
    server.counters = { '1': { errors: 3, fallbacks: 3 }, '2': { errors: 2, fallbacks: 2 } };
    expect(await canary.tick('1')).toBe('ended');
    expect(server.route_).toEqual({ candidates: [{ version: '1', weight: 100 }] });
    expect([...server.loaded]).toEqual(['1']);
    expect(registry.tags.get('2')).toMatchObject({
      [CANARY_TAG.decision]: 'rolled-back',
      [CANARY_TAG.failed]: `errorRate ${2 / 11} > 0.01`,
      [CANARY_TAG.reason]: expect.stringMatching(/^errorRate 0\.1818 > 0\.01 at step 1 \(50 %\)/),
    });
    expect(registry.aliases.has(CHALLENGER)).toBe(false);
    expect(registry.aliases.get(CHAMPION)).toBe('1');
  });

  it('aborts when an operator promotes another version by hand, then leaves the route to the champion', async () => {
    const { registry, server, newCanary } = setup();
    const { canary } = newCanary();
    registry.aliases.set(CHALLENGER, '2');
    await canary.tick('1');
    registry.aliases.set(CHAMPION, '3');
    expect(await canary.tick('3')).toBe('ended');
    const state = await readState(dir, NAME);
    expect(state.status).toBe('rolled-back');
    expect(state.last.reason).toBe('aborted: the champion alias moved to v3 by hand');
    expect(registry.tags.get('2')![CANARY_TAG.reason]).toBe(
      'aborted: the champion alias moved to v3 by hand',
    );
    expect(server.loaded.has('2')).toBe(false);
    expect(registry.aliases.has(CHALLENGER)).toBe(false);
  });

  it('does not restart an ended pair for the same alias, but does for a newer `vigil models canary`', async () => {
    const { registry, newCanary } = setup();
    const { canary } = newCanary();
    registry.aliases.set(CHALLENGER, '2');
    await canary.tick('1');
    registry.aliases.delete(CHALLENGER);
    expect(await canary.tick('1')).toBe('ended'); // aborted: the alias was removed
    registry.aliases.set(CHALLENGER, '2'); // set again without a request
    expect(await canary.tick('1')).toBe('ended');
    expect(registry.aliases.has(CHALLENGER)).toBe(false);
    registry.aliases.set(CHALLENGER, '2');
    registry.tags.get('2')![CANARY_TAG.requestedAt] = new Date(Date.now() + 1000).toISOString();
    expect(await canary.tick('1')).toBe('running');
    expect((await readState(dir, NAME)).status).toBe('running');
  });

  it('a new process resumes the running canary at its step with both versions loaded', async () => {
    const { registry, server, said, newCanary } = setup({ steps: [20, 50, 100] });
    const first = newCanary();
    registry.aliases.set(CHALLENGER, '2');
    await first.canary.tick('1');
    first.rollouts.observePredictions([...answers('1', 40), ...answers('2', 10)]);
    expect(await first.canary.tick('1')).toBe('running'); // → step 2 (50 %)
    server.loaded.clear(); // a restarted server has nothing loaded
    server.route_ = undefined;
    const second = newCanary();
    expect(await second.canary.tick('1')).toBe('running');
    expect([...server.loaded].sort()).toEqual(['1', '2']);
    expect((server.route_ as RouteSpec | undefined)?.candidates).toEqual([
      { version: '2', weight: 50 },
      { version: '1', weight: 50 },
    ]);
    expect(said.at(-1)).toBe('resumed canary of ae: v2 at 50 % beside v1, step 2 of 3');
  });

  it('a challenger that cannot be loaded is recorded as not loaded and its alias removed', async () => {
    const { registry, server, newCanary } = setup();
    const { canary } = newCanary();
    server.unloadable.add('2');
    registry.aliases.set(CHALLENGER, '2');
    expect(await canary.tick('1')).toBe('idle');
    expect(registry.tags.get('2')).toMatchObject({
      [CANARY_TAG.decision]: 'not-loaded',
      [CANARY_TAG.reason]: 'could not load v2: not a valid ONNX model',
    });
    expect(registry.aliases.has(CHALLENGER)).toBe(false);
  });
});
