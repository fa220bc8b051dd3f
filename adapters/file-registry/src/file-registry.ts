import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type MetricPoint,
  type ModelVersion,
  type RegisteredModel,
  type Registry,
  type RegistryCapabilities,
  type Run,
  type RunStatus,
  VigilError,
} from '@vigil/core';
import { readJsonIfExists, writeJsonAtomic, writeRegistryFile } from './atomic-file.js';
import { KeyedMutex } from './keyed-mutex.js';
import { RegistryLayout, segmentName } from './layout.js';
import { withLockFile } from './lock-file.js';

export interface FileRegistryOptions {
  /** Absolute directory holding `experiments/` and `models/`. */
  root: string;
  capabilities: RegistryCapabilities;
  /** How long to wait for another process's lock on a model or run. */
  lockTimeoutMs: number;
}

interface RunMeta {
  runId: string;
  experiment: string;
  name: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  /** Sub-millisecond creation time, so runs made in the same millisecond still sort. */
  createdAt: number;
}

/** One line of `metrics/<key>.ndjson`; non-finite values are kept as strings. */
interface StoredMetric {
  value: number | 'NaN' | 'Infinity' | '-Infinity';
  step: number;
  timestamp: number;
}

interface ModelMeta {
  name: string;
  createdAt: number;
  description?: string;
  tags: Record<string, string>;
  /** Highest version ever created; versions are never reused. */
  lastVersion: number;
}

interface StoredVersion {
  name: string;
  version: string;
  runId: string;
  source: string;
  createdAt: number;
  description?: string;
  tags: Record<string, string>;
}

const RUN_ID = /^[0-9a-f]{32}$/;
const VERSION = /^[1-9][0-9]*$/;
const ALIAS = /^[\w-]+$/;
const END_STATUSES: readonly RunStatus[] = ['FINISHED', 'FAILED', 'KILLED'];

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', message);
}

function notFound(message: string): VigilError {
  return new VigilError('VIGIL_REGISTRY_NOT_FOUND', message);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

function checkStringMap(field: string, map: Record<string, string> | undefined): Record<string, string> {
  if (map === undefined) return {};
  if (typeof map !== 'object' || map === null) throw invalid(`${field} must be an object of strings`);
  for (const [key, value] of Object.entries(map)) {
    if (key.length === 0) throw invalid(`${field} keys must be non-empty`);
    if (typeof value !== 'string') throw invalid(`${field}.${key} must be a string`);
  }
  return { ...map };
}

function encodeValue(value: number): StoredMetric['value'] {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

function decodeValue(value: StoredMetric['value']): number {
  return typeof value === 'number' ? value : Number(value);
}

/** MLflow's "latest" metric: highest step, then latest timestamp, then largest value. */
function isLater(a: StoredMetric, b: StoredMetric): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return decodeValue(a.value) > decodeValue(b.value);
}

/**
 * Registry kept in plain files under one directory (see {@link RegistryLayout}).
 *
 * Every JSON file is replaced atomically (temporary file + rename). Changes to a run or
 * a registered model are serialised per run/model inside the process and, across
 * processes sharing the directory, by an exclusive lock file (`.lock`) in its folder,
 * so concurrent `createModelVersion` calls get distinct, sequential versions.
 * Metric points are appended to one NDJSON file per key.
 */
export class FileRegistry implements Registry {
  readonly capabilities: RegistryCapabilities;
  readonly #layout: RegistryLayout;
  readonly #lockTimeoutMs: number;
  readonly #mutex = new KeyedMutex();
  /** runId → run folder, filled as runs are created or found. */
  readonly #runDirs = new Map<string, string>();
  #closed = false;

  constructor(options: FileRegistryOptions) {
    this.capabilities = options.capabilities;
    this.#layout = new RegistryLayout(options.root);
    this.#lockTimeoutMs = options.lockTimeoutMs;
  }

  // ---- runs -------------------------------------------------------------------------

  async createRun(options: {
    experiment: string;
    name?: string;
    tags?: Record<string, string>;
  }): Promise<Run> {
    this.#checkOpen();
    const experiment = options.experiment;
    const experimentDir = this.#layout.experimentDir(experiment);
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
      throw invalid('run name must be a non-empty string when given');
    }
    const tags = checkStringMap('tags', options.tags);
    // 32 lowercase hex characters, like MLflow's uuid4().hex. An identifier, not a
    // modelling choice: it must differ between processes that share a seed.
    const runId = randomUUID().replaceAll('-', '');
    const startTime = Date.now();
    const meta: RunMeta = {
      runId,
      experiment,
      name: options.name ?? `run-${runId.slice(0, 8)}`,
      status: 'RUNNING',
      startTime,
      createdAt: performance.timeOrigin + performance.now(),
    };
    const experimentMeta = join(experimentDir, 'meta.json');
    if ((await readJsonIfExists(experimentMeta)) === undefined) {
      await this.#mutex.run(`experiment:${experiment}`, async () => {
        if ((await readJsonIfExists(experimentMeta)) === undefined) {
          await writeJsonAtomic(experimentMeta, { name: experiment, createdAt: startTime });
        }
      });
    }
    const runDir = this.#layout.runDir(experiment, runId);
    await mkdir(join(runDir, 'metrics'), { recursive: true });
    await writeJsonAtomic(join(runDir, 'params.json'), {});
    await writeJsonAtomic(join(runDir, 'tags.json'), tags);
    // meta.json last: a run folder without it is not a run yet.
    await writeJsonAtomic(join(runDir, 'meta.json'), meta);
    this.#runDirs.set(runId, runDir);
    return this.#readRun(runDir);
  }

  async getRun(runId: string): Promise<Run> {
    this.#checkOpen();
    return this.#readRun(await this.#findRun(runId));
  }

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    this.#checkOpen();
    if (typeof params !== 'object' || params === null) throw invalid('params must be an object');
    const incoming: Record<string, string> = {};
    for (const [key, value] of Object.entries(params)) {
      if (key.length === 0) throw invalid('param keys must be non-empty');
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw invalid(`param '${key}' must be a string, number or boolean`);
      }
      incoming[key] = String(value);
    }
    await this.#withRun(runId, async (runDir) => {
      const file = join(runDir, 'params.json');
      const stored = (await readJsonIfExists<Record<string, string>>(file)) ?? {};
      for (const [key, value] of Object.entries(incoming)) {
        const previous = stored[key];
        if (previous !== undefined && previous !== value) {
          throw invalid(
            `param '${key}' of run ${runId} is write-once: it is already '${previous}', cannot log '${value}'`,
          );
        }
      }
      await writeJsonAtomic(file, { ...stored, ...incoming });
    });
  }

  async logMetrics(runId: string, metrics: MetricPoint[]): Promise<void> {
    this.#checkOpen();
    if (!Array.isArray(metrics)) throw invalid('metrics must be an array of metric points');
    const now = Date.now();
    const byKey = new Map<string, string[]>();
    metrics.forEach((point, i) => {
      if (typeof point?.key !== 'string' || point.key.length === 0) {
        throw invalid(`metrics[${i}].key must be a non-empty string`);
      }
      if (typeof point.value !== 'number') throw invalid(`metrics[${i}].value must be a number`);
      if (point.step !== undefined && !Number.isSafeInteger(point.step)) {
        throw invalid(`metrics[${i}].step must be an integer`);
      }
      if (point.timestamp !== undefined && !Number.isFinite(point.timestamp)) {
        throw invalid(`metrics[${i}].timestamp must be a finite number of milliseconds`);
      }
      const line: StoredMetric = {
        value: encodeValue(point.value),
        step: point.step ?? 0,
        timestamp: point.timestamp ?? now,
      };
      const lines = byKey.get(point.key) ?? [];
      lines.push(`${JSON.stringify(line)}\n`);
      byKey.set(point.key, lines);
    });
    const runDir = await this.#findRun(runId);
    const files = [...byKey].map(([key, lines]) => [this.#layout.metricFile(runDir, key), lines] as const);
    await this.#mutex.run(`run:${runId}:metrics`, async () => {
      for (const [file, lines] of files) await appendFile(file, lines.join(''));
    });
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    this.#checkOpen();
    const runDir = await this.#findRun(runId);
    const points = await this.#readMetric(this.#layout.metricFile(runDir, key));
    return points
      .map((p, i) => ({ p, i }))
      .sort((a, b) => a.p.step - b.p.step || a.p.timestamp - b.p.timestamp || a.i - b.i)
      .map(({ p }) => ({ key, value: decodeValue(p.value), step: p.step, timestamp: p.timestamp }));
  }

  async setRunTag(runId: string, key: string, value: string): Promise<void> {
    this.#checkOpen();
    if (typeof key !== 'string' || key.length === 0) throw invalid('tag key must be a non-empty string');
    if (typeof value !== 'string') throw invalid(`tag '${key}' value must be a string`);
    await this.#withRun(runId, async (runDir) => {
      const file = join(runDir, 'tags.json');
      const tags = (await readJsonIfExists<Record<string, string>>(file)) ?? {};
      await writeJsonAtomic(file, { ...tags, [key]: value });
    });
  }

  async logArtifact(runId: string, path: string, data: Uint8Array): Promise<void> {
    this.#checkOpen();
    const runDir = await this.#findRun(runId);
    const file = this.#layout.artifactFile(runDir, path);
    if (!(data instanceof Uint8Array)) throw invalid(`artifact ${JSON.stringify(path)} data must be bytes`);
    await writeRegistryFile(file, data);
  }

  async getArtifact(runId: string, path: string): Promise<Uint8Array> {
    this.#checkOpen();
    const runDir = await this.#findRun(runId);
    const file = this.#layout.artifactFile(runDir, path);
    try {
      const bytes = await readFile(file);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (isMissing(error)) throw notFound(`artifact ${JSON.stringify(path)} of run ${runId} not found`);
      throw error;
    }
  }

  async endRun(runId: string, status: Exclude<RunStatus, 'RUNNING'> = 'FINISHED'): Promise<void> {
    this.#checkOpen();
    if (!END_STATUSES.includes(status)) {
      throw invalid(`status must be one of ${END_STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
    }
    await this.#withRun(runId, async (runDir) => {
      const file = join(runDir, 'meta.json');
      const meta = await readJsonIfExists<RunMeta>(file);
      if (!meta) throw notFound(`run ${runId} not found`);
      await writeJsonAtomic(file, { ...meta, status, endTime: Date.now() });
    });
  }

  async searchRuns(options: { experiment: string; maxResults?: number }): Promise<Run[]> {
    this.#checkOpen();
    const runsDir = this.#layout.runsDir(options.experiment);
    const maxResults = options.maxResults ?? 1000;
    if (!Number.isSafeInteger(maxResults) || maxResults < 1) {
      throw invalid(`maxResults must be a positive integer, got ${maxResults}`);
    }
    const metas: { dir: string; meta: RunMeta }[] = [];
    for (const entry of await listDir(runsDir)) {
      if (!RUN_ID.test(entry)) continue;
      const dir = join(runsDir, entry);
      const meta = await readJsonIfExists<RunMeta>(join(dir, 'meta.json')).catch(() => undefined);
      if (meta) metas.push({ dir, meta });
    }
    metas.sort((a, b) => b.meta.createdAt - a.meta.createdAt || b.meta.startTime - a.meta.startTime);
    return Promise.all(metas.slice(0, maxResults).map(({ dir }) => this.#readRun(dir)));
  }

  // ---- registered models ----------------------------------------------------------

  async createRegisteredModel(
    name: string,
    options: { description?: string; tags?: Record<string, string> } = {},
  ): Promise<RegisteredModel> {
    this.#checkOpen();
    this.#layout.modelDir(name);
    const tags = checkStringMap('tags', options.tags);
    if (options.description !== undefined && typeof options.description !== 'string') {
      throw invalid('description must be a string');
    }
    await this.#withModel(name, () => this.#ensureModel(name, options.description, tags), true);
    return this.getRegisteredModel(name);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    this.#checkOpen();
    const meta = await this.#readModelMeta(name);
    const aliases = await this.#readAliases(name);
    const latest = await this.#latestVersion(name, meta);
    return {
      name: meta.name,
      createdAt: meta.createdAt,
      ...(meta.description === undefined ? {} : { description: meta.description }),
      tags: { ...meta.tags },
      aliases,
      ...(latest === 0 ? {} : { latestVersion: String(latest) }),
    };
  }

  /**
   * Creates the registered model first when it does not exist (like MLflow's
   * `register_model`). The run must exist.
   */
  async createModelVersion(options: {
    name: string;
    runId: string;
    source: string;
    tags?: Record<string, string>;
    description?: string;
  }): Promise<ModelVersion> {
    this.#checkOpen();
    const { name, runId, source } = options;
    this.#layout.modelDir(name);
    if (typeof source !== 'string' || source.length === 0) throw invalid('source must be a non-empty string');
    if (options.description !== undefined && typeof options.description !== 'string') {
      throw invalid('description must be a string');
    }
    const tags = checkStringMap('tags', options.tags);
    await this.#findRun(runId);
    const version = await this.#withModel(
      name,
      async () => {
        const meta = await this.#ensureModel(name, undefined, {});
        const next = (await this.#latestVersion(name, meta)) + 1;
        const stored: StoredVersion = {
          name,
          version: String(next),
          runId,
          source,
          createdAt: Date.now(),
          ...(options.description === undefined ? {} : { description: options.description }),
          tags,
        };
        await writeJsonAtomic(this.#layout.versionFile(name, next), stored);
        await writeJsonAtomic(join(this.#layout.modelDir(name), 'meta.json'), { ...meta, lastVersion: next });
        return stored.version;
      },
      true,
    );
    return this.getModelVersion(name, version);
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    this.#checkOpen();
    const stored = await this.#readVersion(name, version);
    const aliases = await this.#readAliases(name);
    return this.#versionView(stored, aliases);
  }

  /** Every version of the model, newest first; empty when the model does not exist. */
  async searchModelVersions(name: string): Promise<ModelVersion[]> {
    this.#checkOpen();
    const numbers = (await listDir(this.#layout.versionsDir(name)))
      .map((file) => /^([1-9][0-9]*)\.json$/.exec(file)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
    const aliases = await this.#readAliases(name);
    const versions: ModelVersion[] = [];
    for (const n of numbers) {
      const stored = await readJsonIfExists<StoredVersion>(this.#layout.versionFile(name, n));
      if (stored) versions.push(this.#versionView(stored, aliases));
    }
    return versions;
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    this.#checkOpen();
    if (typeof key !== 'string' || key.length === 0) throw invalid('tag key must be a non-empty string');
    if (typeof value !== 'string') throw invalid(`tag '${key}' value must be a string`);
    await this.#withModel(name, async () => {
      const stored = await this.#readVersion(name, version);
      stored.tags = { ...stored.tags, [key]: value };
      await writeJsonAtomic(this.#layout.versionFile(name, Number(version)), stored);
    });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    this.#checkOpen();
    checkAlias(alias);
    await this.#withModel(name, async () => {
      await this.#readVersion(name, version);
      const aliases = await this.#readAliases(name);
      aliases[alias] = version;
      await writeJsonAtomic(join(this.#layout.modelDir(name), 'aliases.json'), aliases);
    });
  }

  /** Removes the alias; a no-op when the model has no such alias (as in MLflow). */
  async deleteAlias(name: string, alias: string): Promise<void> {
    this.#checkOpen();
    await this.#withModel(name, async () => {
      const aliases = await this.#readAliases(name);
      if (!(alias in aliases)) return;
      delete aliases[alias];
      await writeJsonAtomic(join(this.#layout.modelDir(name), 'aliases.json'), aliases);
    });
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    this.#checkOpen();
    await this.#readModelMeta(name);
    const version = (await this.#readAliases(name))[alias];
    if (version === undefined) throw notFound(`alias '${alias}' of registered model '${name}' not found`);
    return this.getModelVersion(name, version);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#mutex.idle();
  }

  // ---- internals --------------------------------------------------------------------

  #checkOpen(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'file registry used after close()');
  }

  async #findRun(runId: string): Promise<string> {
    if (typeof runId !== 'string' || !RUN_ID.test(runId))
      throw notFound(`run ${JSON.stringify(runId)} not found`);
    const known = this.#runDirs.get(runId);
    if (known) return known;
    for (const experiment of await listDir(this.#layout.experimentsDir)) {
      const dir = join(this.#layout.experimentsDir, experiment, 'runs', runId);
      if (await stat(join(dir, 'meta.json')).then(() => true, isMissingToFalse)) {
        this.#runDirs.set(runId, dir);
        return dir;
      }
    }
    throw notFound(`run ${runId} not found`);
  }

  /** Run `work` on the run's folder, serialised in-process and across processes. */
  async #withRun<T>(runId: string, work: (runDir: string) => Promise<T>): Promise<T> {
    const runDir = await this.#findRun(runId);
    return this.#mutex.run(`run:${runId}`, () =>
      withLockFile(join(runDir, '.lock'), () => work(runDir), { timeoutMs: this.#lockTimeoutMs }),
    );
  }

  /**
   * Run `work` on a registered model, serialised in-process and across processes. Unless
   * `create` is set, the model must exist (models are never deleted, so checking first is safe).
   */
  async #withModel<T>(name: string, work: () => Promise<T>, create = false): Promise<T> {
    const modelDir = this.#layout.modelDir(name);
    if (!create) await this.#readModelMeta(name);
    return this.#mutex.run(`model:${name}`, async () => {
      await mkdir(modelDir, { recursive: true });
      return withLockFile(join(modelDir, '.lock'), work, { timeoutMs: this.#lockTimeoutMs });
    });
  }

  async #readRun(runDir: string): Promise<Run> {
    const meta = await readJsonIfExists<RunMeta>(join(runDir, 'meta.json'));
    if (!meta) throw notFound(`run in ${runDir} not found`);
    const [params, tags, metrics] = await Promise.all([
      readJsonIfExists<Record<string, string>>(join(runDir, 'params.json')),
      readJsonIfExists<Record<string, string>>(join(runDir, 'tags.json')),
      this.#latestMetrics(runDir),
    ]);
    return {
      runId: meta.runId,
      experiment: meta.experiment,
      name: meta.name,
      status: meta.status,
      startTime: meta.startTime,
      ...(meta.endTime === undefined ? {} : { endTime: meta.endTime }),
      params: params ?? {},
      metrics,
      tags: tags ?? {},
    };
  }

  async #latestMetrics(runDir: string): Promise<Record<string, number>> {
    const latest: Record<string, number> = {};
    const metricsDir = join(runDir, 'metrics');
    for (const file of await listDir(metricsDir)) {
      if (!file.endsWith('.ndjson')) continue;
      const points = await this.#readMetric(join(metricsDir, file));
      let best: StoredMetric | undefined;
      for (const point of points) if (!best || isLater(point, best)) best = point;
      if (best) latest[segmentName(file.slice(0, -'.ndjson'.length))] = decodeValue(best.value);
    }
    return latest;
  }

  async #readMetric(file: string): Promise<StoredMetric[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const points: StoredMetric[] = [];
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      try {
        points.push(JSON.parse(line) as StoredMetric);
      } catch {
        // A line torn by a crash mid-append: it was never acknowledged, skip it.
      }
    }
    return points;
  }

  async #readModelMeta(name: string): Promise<ModelMeta> {
    const meta = await readJsonIfExists<ModelMeta>(join(this.#layout.modelDir(name), 'meta.json'));
    if (!meta) throw notFound(`registered model '${name}' not found`);
    return meta;
  }

  /** Call with the model's lock held. */
  async #ensureModel(name: string, description: string | undefined, tags: Record<string, string>) {
    const file = join(this.#layout.modelDir(name), 'meta.json');
    const existing = await readJsonIfExists<ModelMeta>(file);
    if (existing) return existing;
    const meta: ModelMeta = {
      name,
      createdAt: Date.now(),
      ...(description === undefined ? {} : { description }),
      tags,
      lastVersion: 0,
    };
    await writeJsonAtomic(join(this.#layout.modelDir(name), 'aliases.json'), {});
    await writeJsonAtomic(file, meta);
    return meta;
  }

  /** Highest version number that exists or ever existed (a crash between writes is covered). */
  async #latestVersion(name: string, meta: ModelMeta): Promise<number> {
    let latest = meta.lastVersion;
    for (const file of await listDir(this.#layout.versionsDir(name))) {
      const n = /^([1-9][0-9]*)\.json$/.exec(file)?.[1];
      if (n !== undefined) latest = Math.max(latest, Number(n));
    }
    return latest;
  }

  async #readAliases(name: string): Promise<Record<string, string>> {
    return (
      (await readJsonIfExists<Record<string, string>>(join(this.#layout.modelDir(name), 'aliases.json'))) ??
      {}
    );
  }

  async #readVersion(name: string, version: string): Promise<StoredVersion> {
    const missing = () =>
      notFound(`version ${JSON.stringify(version)} of registered model '${name}' not found`);
    if (typeof version !== 'string' || !VERSION.test(version)) {
      await this.#readModelMeta(name);
      throw missing();
    }
    const stored = await readJsonIfExists<StoredVersion>(this.#layout.versionFile(name, Number(version)));
    if (stored) return stored;
    await this.#readModelMeta(name);
    throw missing();
  }

  #versionView(stored: StoredVersion, aliases: Record<string, string>): ModelVersion {
    return {
      name: stored.name,
      version: stored.version,
      runId: stored.runId,
      source: stored.source,
      createdAt: stored.createdAt,
      tags: { ...stored.tags },
      aliases: Object.keys(aliases)
        .filter((alias) => aliases[alias] === stored.version)
        .sort(),
      ...(stored.description === undefined ? {} : { description: stored.description }),
    };
  }
}

function isMissingToFalse(error: unknown): false {
  if (isMissing(error)) return false;
  throw error;
}

/** MLflow's alias rules: word characters and dashes; `latest` and `v<n>` are reserved. */
function checkAlias(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS.test(alias) || alias.length > 255) {
    throw invalid(`alias ${JSON.stringify(alias)} must be 1-255 letters, digits, '_' or '-'`);
  }
  if (alias.toLowerCase() === 'latest' || /^v[0-9]+$/i.test(alias)) {
    throw invalid(`alias '${alias}' is reserved (latest and v<number> name versions)`);
  }
}
