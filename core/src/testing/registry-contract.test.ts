import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VigilError } from '../errors.js';
import type {
  MetricPoint,
  ModelVersion,
  RegisteredModel,
  Registry,
  RegistryCapabilities,
  Run,
  RunStatus,
} from '../ports/registry.js';
import { checkContract } from './contract.js';
import { type RegistryFixture, registryContract } from './registry-contract.js';

type Bug =
  | 'none'
  | 'reused-versions'
  | 'sticky-aliases'
  | 'overwritten-params'
  | 'unsorted-history'
  | 'forgetful'
  | 'oldest-first';

interface StoredRun extends Omit<Run, 'metrics'> {
  history: Map<string, Required<MetricPoint>[]>;
  artifacts: Map<string, Uint8Array>;
  order: number;
}

interface StoredModel {
  model: Omit<RegisteredModel, 'aliases' | 'latestVersion'>;
  versions: Omit<ModelVersion, 'aliases'>[];
  /** alias → version; with the sticky bug, an alias may point at several versions. */
  aliases: [string, string][];
}

interface State {
  runs: Map<string, StoredRun>;
  models: Map<string, StoredModel>;
  order: number;
}

const notFound = (what: string) => new VigilError('VIGIL_REGISTRY_NOT_FOUND', `${what} not found`);
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An in-memory reference registry, correct unless given a bug; shares `state` across reopens. */
class MemoryRegistry implements Registry {
  readonly capabilities: RegistryCapabilities = { artifacts: true, runFilters: false };
  readonly #state: State;
  readonly #bug: Bug;

  constructor(state: State, bug: Bug) {
    this.#state = state;
    this.#bug = bug;
  }

  #run(runId: string): StoredRun {
    const run = this.#state.runs.get(runId);
    if (!run) throw notFound(`run ${runId}`);
    return run;
  }

  #model(name: string): StoredModel {
    const model = this.#state.models.get(name);
    if (!model) throw notFound(`registered model ${name}`);
    return model;
  }

  async createRun(options: {
    experiment: string;
    name?: string;
    tags?: Record<string, string>;
  }): Promise<Run> {
    const runId = randomUUID().replaceAll('-', '');
    this.#state.runs.set(runId, {
      runId,
      experiment: options.experiment,
      name: options.name ?? runId.slice(0, 8),
      status: 'RUNNING',
      startTime: Date.now(),
      params: {},
      tags: { ...options.tags },
      history: new Map(),
      artifacts: new Map(),
      order: this.#state.order++,
    });
    return this.getRun(runId);
  }

  async getRun(runId: string): Promise<Run> {
    const { history, artifacts, order, ...run } = this.#run(runId);
    const metrics: Record<string, number> = {};
    for (const [key, points] of history) {
      const latest = [...points].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp).at(-1);
      if (latest) metrics[key] = latest.value;
    }
    return { ...run, params: { ...run.params }, tags: { ...run.tags }, metrics };
  }

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    const run = this.#run(runId);
    for (const [key, raw] of Object.entries(params)) {
      const value = String(raw);
      if (this.#bug !== 'overwritten-params' && run.params[key] !== undefined && run.params[key] !== value) {
        throw new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', `param '${key}' is write-once`);
      }
    }
    for (const [key, raw] of Object.entries(params)) run.params[key] = String(raw);
  }

  async logMetrics(runId: string, metrics: MetricPoint[]): Promise<void> {
    const run = this.#run(runId);
    for (const { key, value, step, timestamp } of metrics) {
      const points = run.history.get(key) ?? [];
      points.push({ key, value, step: step ?? 0, timestamp: timestamp ?? Date.now() });
      run.history.set(key, points);
    }
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const points = [...(this.#run(runId).history.get(key) ?? [])];
    if (this.#bug === 'unsorted-history') return points;
    return points.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  }

  async setRunTag(runId: string, key: string, value: string): Promise<void> {
    this.#run(runId).tags[key] = value;
  }

  async logArtifact(runId: string, path: string, data: Uint8Array): Promise<void> {
    if (path.split('/').includes('..'))
      throw new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', `path ${path}`);
    this.#run(runId).artifacts.set(path, Uint8Array.from(data));
  }

  async getArtifact(runId: string, path: string): Promise<Uint8Array> {
    const data = this.#run(runId).artifacts.get(path);
    if (!data) throw notFound(`artifact ${path}`);
    return Uint8Array.from(data);
  }

  async endRun(runId: string, status: Exclude<RunStatus, 'RUNNING'> = 'FINISHED'): Promise<void> {
    const run = this.#run(runId);
    run.status = status;
    run.endTime = Date.now();
  }

  async searchRuns(options: { experiment: string; maxResults?: number }): Promise<Run[]> {
    const runs = [...this.#state.runs.values()]
      .filter((r) => r.experiment === options.experiment)
      .sort((a, b) => (this.#bug === 'oldest-first' ? a.order - b.order : b.order - a.order))
      .slice(0, options.maxResults ?? 1000);
    return Promise.all(runs.map((r) => this.getRun(r.runId)));
  }

  async createRegisteredModel(
    name: string,
    options: { description?: string; tags?: Record<string, string> } = {},
  ): Promise<RegisteredModel> {
    if (!this.#state.models.has(name)) {
      this.#state.models.set(name, {
        model: { name, createdAt: Date.now(), tags: { ...options.tags }, description: options.description },
        versions: [],
        aliases: [],
      });
    }
    return this.getRegisteredModel(name);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const { model, versions, aliases } = this.#model(name);
    return {
      ...model,
      tags: { ...model.tags },
      aliases: Object.fromEntries(aliases),
      latestVersion: versions.at(-1)?.version,
    };
  }

  async createModelVersion(options: {
    name: string;
    runId: string;
    source: string;
    tags?: Record<string, string>;
    description?: string;
  }): Promise<ModelVersion> {
    this.#run(options.runId);
    await this.createRegisteredModel(options.name);
    const stored = this.#model(options.name);
    const next = stored.versions.length + 1;
    // The reused-versions bug reads the count, yields (as a real store does for I/O), then writes.
    if (this.#bug === 'reused-versions') await tick();
    const version = String(next);
    stored.versions.push({
      name: options.name,
      version,
      runId: options.runId,
      source: options.source,
      createdAt: Date.now(),
      tags: { ...options.tags },
      description: options.description,
    });
    return this.getModelVersion(options.name, version);
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const stored = this.#model(name);
    const found = stored.versions.find((v) => v.version === version);
    if (!found) throw notFound(`version ${version} of ${name}`);
    const aliases = stored.aliases.filter(([, v]) => v === version).map(([alias]) => alias);
    return { ...found, tags: { ...found.tags }, aliases: aliases.sort() };
  }

  async searchModelVersions(name: string): Promise<ModelVersion[]> {
    const stored = this.#state.models.get(name);
    if (!stored) return [];
    return Promise.all(stored.versions.map((v) => this.getModelVersion(name, v.version)));
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    const found = this.#model(name).versions.find((v) => v.version === version);
    if (!found) throw notFound(`version ${version} of ${name}`);
    found.tags[key] = value;
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.getModelVersion(name, version);
    const stored = this.#model(name);
    if (this.#bug !== 'sticky-aliases') stored.aliases = stored.aliases.filter(([a]) => a !== alias);
    stored.aliases.push([alias, version]);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    const stored = this.#model(name);
    stored.aliases = stored.aliases.filter(([a]) => a !== alias);
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const entry = this.#model(name).aliases.find(([a]) => a === alias);
    if (!entry) throw notFound(`alias ${alias} of ${name}`);
    return this.getModelVersion(name, entry[1]);
  }

  async close(): Promise<void> {}
}

function memoryFixture(bug: Bug): () => Promise<RegistryFixture> {
  return async () => {
    const state: State = { runs: new Map(), models: new Map(), order: 0 };
    return {
      impl: new MemoryRegistry(state, bug),
      reopen: async () =>
        new MemoryRegistry(
          bug === 'forgetful' ? { runs: new Map(), models: new Map(), order: 0 } : state,
          bug,
        ),
      cleanup: async () => {},
    };
  };
}

async function failedCases(bug: Bug): Promise<string[]> {
  const report = await checkContract(registryContract, memoryFixture(bug));
  expect(report.skipped).toEqual([]);
  return report.failed.map((f) => f.name);
}

const caseName = (fragment: string): string => {
  const found = registryContract.cases.find((c) => c.name.includes(fragment));
  if (!found) throw new Error(`no registry contract case mentions '${fragment}'`);
  return found.name;
};

describe('registry contract', () => {
  it('passes a correct in-memory registry', async () => {
    expect(await failedCases('none')).toEqual([]);
  });

  it.each([
    ['reused-versions', 'concurrent createModelVersion'],
    ['sticky-aliases', 'aliases can be set, moved'],
    ['overwritten-params', 'params are write-once'],
    ['unsorted-history', 'metric history'],
    ['oldest-first', 'searchRuns'],
    ['forgetful', 'survives a reopen'],
  ] as const)('fails a registry with %s in exactly the matching case', async (bug, fragment) => {
    expect(await failedCases(bug)).toEqual([caseName(fragment)]);
  });
});
