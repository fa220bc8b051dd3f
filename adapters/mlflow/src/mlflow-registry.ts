import type {
  MetricPoint,
  ModelVersion,
  RegisteredModel,
  Registry,
  RegistryCapabilities,
  Run,
  RunStatus,
} from '@vigil/core';
import { VigilError } from '@vigil/core';
import { MlflowApiError, type MlflowClient } from './client/mlflow-client.js';
import type {
  MlflowExperiment,
  MlflowKeyValue,
  MlflowMetric,
  MlflowModelVersion,
  MlflowRegisteredModel,
  MlflowRun,
} from './client/mlflow-types.js';

export interface MlflowRegistryOptions {
  client: MlflowClient;
  capabilities: RegistryCapabilities;
}

/** MLflow's documented `log-batch` limits per request. */
const BATCH_METRICS = 1000;
const BATCH_PARAMS = 100;
/** MLflow cuts longer param values (it would break write-once); longer keys are refused. */
const MAX_PARAM_VALUE = 6000;
const MAX_KEY = 250;
const PAGE = 1000;

const STATUSES: readonly RunStatus[] = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED'];

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', message);
}

function notFound(message: string, cause?: unknown): VigilError {
  return new VigilError('VIGIL_REGISTRY_NOT_FOUND', message, { cause });
}

/** An MLflow REST failure as a Vigil error with a stable code; the MLflow answer is the cause. */
function translate(error: unknown, what: string): unknown {
  if (!(error instanceof MlflowApiError)) return error;
  if (error.errorCode === 'RESOURCE_DOES_NOT_EXIST' || error.status === 404) {
    return notFound(`${what}: not found (${error.message})`, error);
  }
  if (error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
    return new VigilError('VIGIL_REGISTRY_ALREADY_EXISTS', `${what}: ${error.message}`, { cause: error });
  }
  if (error.status === 400) {
    return new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', `${what}: ${error.message}`, { cause: error });
  }
  return new VigilError('VIGIL_COMPONENT_FAILED', `${what}: ${error.message}`, { cause: error });
}

function num(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value : Number(value);
}

/** Metric values over JSON: protobuf's JSON mapping spells non-finite doubles as strings. */
function encodeValue(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

function pairs(map: Record<string, string> | undefined): { key: string; value: string }[] {
  return Object.entries(map ?? {}).map(([key, value]) => ({ key, value }));
}

/** User tags: MLflow's own `mlflow.*` tags (run name, source, user) are the server's bookkeeping. */
function userTags(tags: MlflowKeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of tags ?? []) if (!key.startsWith('mlflow.')) out[key] = value ?? '';
  return out;
}

function tagMap(tags: MlflowKeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of tags ?? []) out[key] = value ?? '';
  return out;
}

function checkStrings(what: string, map: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(map ?? {})) {
    if (key.length === 0 || key.length > MAX_KEY)
      throw invalid(`${what}: key '${key}' must be 1–${MAX_KEY} characters`);
    if (typeof value !== 'string')
      throw invalid(`${what}.${key}: value must be a string, got ${typeof value}`);
  }
}

/** A relative artifact path inside a run: no leading /, no empty, `.` or `..` segments, no backslash. */
function artifactSegments(path: string): string[] {
  const segments = typeof path === 'string' ? path.split('/') : [];
  if (
    segments.length === 0 ||
    path.includes('\\') ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw invalid(
      `artifact path '${String(path)}' must be a relative path inside the run (no leading /, no . or ..)`,
    );
  }
  return segments;
}

/**
 * The Registry port over an MLflow tracking server and model registry (REST API 2.0).
 *
 * - Experiments are found by name and created on first use; runs, params, metrics and tags map
 *   one to one (params and tags sent as strings, timestamps as integer epoch ms, `log-batch`
 *   chunked to MLflow's limits).
 * - Artifacts go through the server's proxied artifact store (`--serve-artifacts`): the run's
 *   `mlflow-artifacts:` URI locates them under `/api/2.0/mlflow-artifacts/artifacts/`.
 * - A model version's `source` (a path inside the run) is stored as `runs:/<run>/<path>`, the
 *   URI MLflow's own clients resolve; aliases are MLflow aliases, never stages.
 */
export class MlflowRegistry implements Registry {
  readonly capabilities: RegistryCapabilities;
  readonly #client: MlflowClient;
  #closed = false;
  /** experiment name → id, and back; experiments are never renamed by this adapter. */
  readonly #experimentIds = new Map<string, Promise<string>>();
  readonly #experimentNames = new Map<string, string>();
  /** run id → the run's artifact URI (fixed when the run is created). */
  readonly #artifactUris = new Map<string, string>();

  constructor(options: MlflowRegistryOptions) {
    this.#client = options.client;
    this.capabilities = options.capabilities;
  }

  // --- tracking ----------------------------------------------------------------------------

  async createRun(options: {
    experiment: string;
    name?: string;
    tags?: Record<string, string>;
  }): Promise<Run> {
    this.#checkOpen();
    if (typeof options.experiment !== 'string' || options.experiment.length === 0) {
      throw invalid('experiment must be a non-empty string');
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
      throw invalid('run name must be a non-empty string when given');
    }
    checkStrings('tags', options.tags);
    const experimentId = await this.#experimentId(options.experiment, true);
    const body: Record<string, unknown> = {
      experiment_id: experimentId,
      start_time: Date.now(),
      tags: pairs(options.tags),
    };
    if (options.name !== undefined) body.run_name = options.name;
    const { run } = await this.#call('createRun', () =>
      this.#client.post<{ run: MlflowRun }>('runs/create', body),
    );
    return this.#runView(run);
  }

  async getRun(runId: string): Promise<Run> {
    this.#checkOpen();
    return this.#runView(await this.#rawRun(runId));
  }

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    this.#checkOpen();
    const entries = Object.entries(params).map(([key, value]) => {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw invalid(`param '${key}': value must be a string, number or boolean, got ${typeof value}`);
      }
      const text = String(value);
      if (key.length === 0 || key.length > MAX_KEY)
        throw invalid(`param key '${key}' must be 1–${MAX_KEY} characters`);
      if (text.length > MAX_PARAM_VALUE) {
        throw invalid(
          `param '${key}': value is ${text.length} characters; MLflow keeps at most ${MAX_PARAM_VALUE}`,
        );
      }
      return { key, value: text };
    });
    for (let i = 0; i < entries.length; i += BATCH_PARAMS) {
      const batch = entries.slice(i, i + BATCH_PARAMS);
      try {
        await this.#client.post('runs/log-batch', { run_id: runId, params: batch });
      } catch (error) {
        if (error instanceof MlflowApiError && error.status === 400) {
          // Name the keys whose value differs from the stored one (write-once), as the port asks.
          const stored = (await this.getRun(runId)).params;
          const changed = batch.filter((p) => stored[p.key] !== undefined && stored[p.key] !== p.value);
          if (changed.length > 0) {
            throw new VigilError(
              'VIGIL_REGISTRY_INVALID_REQUEST',
              `params are write-once: ${changed
                .map((p) => `'${p.key}' is '${stored[p.key]}', not '${p.value}'`)
                .join('; ')} (run ${runId})`,
              { cause: error },
            );
          }
        }
        throw translate(error, `logParams(${runId})`);
      }
    }
  }

  async logMetrics(runId: string, metrics: MetricPoint[]): Promise<void> {
    this.#checkOpen();
    const now = Date.now();
    const entries = metrics.map((m) => {
      if (typeof m.key !== 'string' || m.key.length === 0 || m.key.length > MAX_KEY) {
        throw invalid(`metric key '${String(m.key)}' must be 1–${MAX_KEY} characters`);
      }
      if (typeof m.value !== 'number') throw invalid(`metric '${m.key}': value must be a number`);
      const step = m.step ?? 0;
      if (!Number.isSafeInteger(step))
        throw invalid(`metric '${m.key}': step must be an integer, got ${step}`);
      const timestamp = m.timestamp ?? now;
      if (!Number.isFinite(timestamp)) throw invalid(`metric '${m.key}': timestamp must be finite epoch ms`);
      // MLflow zeroes a fractional timestamp: send integer milliseconds.
      return { key: m.key, value: encodeValue(m.value), step, timestamp: Math.trunc(timestamp) };
    });
    if (entries.length === 0) {
      await this.#rawRun(runId); // an unknown run still fails
      return;
    }
    for (let i = 0; i < entries.length; i += BATCH_METRICS) {
      const batch = entries.slice(i, i + BATCH_METRICS);
      await this.#call(`logMetrics(${runId})`, () =>
        this.#client.post('runs/log-batch', { run_id: runId, metrics: batch }),
      );
    }
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    this.#checkOpen();
    const points: MetricPoint[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call(`getMetricHistory(${runId}, ${key})`, () =>
        this.#client.get<{ metrics?: MlflowMetric[]; next_page_token?: string }>('metrics/get-history', {
          run_id: runId,
          metric_key: key,
          max_results: 25_000,
          page_token: pageToken,
        }),
      );
      for (const m of page.metrics ?? []) points.push(metricView(m));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    // Step order; points of one step keep time order (then the server's order: sort is stable).
    return points.sort((a, b) => a.step! - b.step! || a.timestamp! - b.timestamp!);
  }

  async setRunTag(runId: string, key: string, value: string): Promise<void> {
    this.#checkOpen();
    checkStrings('tag', { [key]: value });
    await this.#call(`setRunTag(${runId}, ${key})`, () =>
      this.#client.post('runs/set-tag', { run_id: runId, key, value }),
    );
  }

  async logArtifact(runId: string, path: string, data: Uint8Array): Promise<void> {
    this.#checkOpen();
    const segments = artifactSegments(path);
    if (!(data instanceof Uint8Array)) throw invalid(`artifact '${path}': data must be a Uint8Array`);
    const root = await this.#artifactRoot(runId);
    await this.#call(`logArtifact(${runId}, ${path})`, () =>
      this.#client.putArtifact([...root, ...segments].map(encodeURIComponent).join('/'), data),
    );
  }

  async getArtifact(runId: string, path: string): Promise<Uint8Array> {
    this.#checkOpen();
    const segments = artifactSegments(path);
    const root = await this.#artifactRoot(runId);
    return this.#call(`getArtifact(${runId}, ${path})`, () =>
      this.#client.getArtifact([...root, ...segments].map(encodeURIComponent).join('/')),
    );
  }

  async endRun(runId: string, status: Exclude<RunStatus, 'RUNNING'> = 'FINISHED'): Promise<void> {
    this.#checkOpen();
    if (!(STATUSES as readonly string[]).includes(status) || (status as RunStatus) === 'RUNNING') {
      throw invalid(`endRun status must be FINISHED, FAILED or KILLED, got '${String(status)}'`);
    }
    await this.#call(`endRun(${runId})`, () =>
      this.#client.post('runs/update', { run_id: runId, status, end_time: Date.now() }),
    );
  }

  async searchRuns(options: { experiment: string; maxResults?: number }): Promise<Run[]> {
    this.#checkOpen();
    const limit = options.maxResults ?? Number.POSITIVE_INFINITY;
    if (!(limit > 0)) throw invalid(`maxResults must be positive, got ${options.maxResults}`);
    let experimentId: string;
    try {
      experimentId = await this.#experimentId(options.experiment, false);
    } catch (error) {
      if (error instanceof VigilError && error.code === 'VIGIL_REGISTRY_NOT_FOUND') return [];
      throw error;
    }
    const runs: Run[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call(`searchRuns(${options.experiment})`, () =>
        this.#client.post<{ runs?: MlflowRun[]; next_page_token?: string }>('runs/search', {
          experiment_ids: [experimentId],
          max_results: Math.min(PAGE, limit - runs.length),
          order_by: ['attributes.start_time DESC'],
          page_token: pageToken,
        }),
      );
      for (const run of page.runs ?? []) runs.push(await this.#runView(run));
      pageToken = page.next_page_token || undefined;
    } while (pageToken && runs.length < limit);
    return runs.slice(0, limit);
  }

  // --- model registry ----------------------------------------------------------------------

  async createRegisteredModel(
    name: string,
    options: { description?: string; tags?: Record<string, string> } = {},
  ): Promise<RegisteredModel> {
    this.#checkOpen();
    if (typeof name !== 'string' || name.length === 0) throw invalid('model name must be a non-empty string');
    checkStrings('tags', options.tags);
    try {
      const body: Record<string, unknown> = { name, tags: pairs(options.tags) };
      if (options.description !== undefined) body.description = options.description;
      const { registered_model } = await this.#client.post<{ registered_model: MlflowRegisteredModel }>(
        'registered-models/create',
        body,
      );
      return modelView(registered_model);
    } catch (error) {
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        return this.getRegisteredModel(name);
      }
      throw translate(error, `createRegisteredModel(${name})`);
    }
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    this.#checkOpen();
    const { registered_model } = await this.#call(`getRegisteredModel(${name})`, () =>
      this.#client.get<{ registered_model: MlflowRegisteredModel }>('registered-models/get', { name }),
    );
    return modelView(registered_model);
  }

  async createModelVersion(options: {
    name: string;
    runId: string;
    source: string;
    tags?: Record<string, string>;
    description?: string;
  }): Promise<ModelVersion> {
    this.#checkOpen();
    artifactSegments(options.source);
    checkStrings('tags', options.tags);
    // MLflow registers a version of a run that does not exist; the port (and the file registry)
    // refuse it: the version must lead back to its training run.
    await this.#rawRun(options.runId);
    const body: Record<string, unknown> = {
      name: options.name,
      source: `runs:/${options.runId}/${options.source}`,
      run_id: options.runId,
      tags: pairs(options.tags),
    };
    if (options.description !== undefined) body.description = options.description;
    const create = () =>
      this.#client.post<{ model_version: MlflowModelVersion }>('model-versions/create', body);
    let created: { model_version: MlflowModelVersion };
    try {
      created = await create();
    } catch (error) {
      // Like the embedded registry, a version of a model nobody created creates the model.
      if (!(error instanceof MlflowApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) {
        throw translate(error, `createModelVersion(${options.name})`);
      }
      await this.createRegisteredModel(options.name);
      created = await this.#call(`createModelVersion(${options.name})`, create);
    }
    return versionView(created.model_version);
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    this.#checkOpen();
    if (!/^[1-9][0-9]*$/.test(String(version))) throw notFound(`model '${name}' has no version '${version}'`);
    const { model_version } = await this.#call(`getModelVersion(${name}, ${version})`, () =>
      this.#client.get<{ model_version: MlflowModelVersion }>('model-versions/get', { name, version }),
    );
    return versionView(model_version);
  }

  async searchModelVersions(name: string): Promise<ModelVersion[]> {
    this.#checkOpen();
    const model = await this.getRegisteredModel(name);
    // Search answers leave `aliases` out: fill them from the model's alias map.
    const aliasesOf = new Map<string, string[]>();
    for (const [alias, version] of Object.entries(model.aliases)) {
      aliasesOf.set(version, [...(aliasesOf.get(version) ?? []), alias]);
    }
    const filter = `name = ${quote(name)}`;
    const versions: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call(`searchModelVersions(${name})`, () =>
        this.#client.get<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>(
          'model-versions/search',
          { filter, max_results: PAGE, page_token: pageToken },
        ),
      );
      for (const v of page.model_versions ?? []) {
        if (v.name !== name) continue;
        versions.push({ ...versionView(v), aliases: (aliasesOf.get(v.version) ?? []).sort() });
      }
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return versions.sort((a, b) => Number(b.version) - Number(a.version));
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    this.#checkOpen();
    checkStrings('tag', { [key]: value });
    await this.#call(`setModelVersionTag(${name}, ${version}, ${key})`, () =>
      this.#client.post('model-versions/set-tag', { name, version: String(version), key, value }),
    );
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    this.#checkOpen();
    // MLflow answers an unknown version with a generic error on some versions: check first, so
    // the caller gets VIGIL_REGISTRY_NOT_FOUND either way.
    await this.getModelVersion(name, version);
    await this.#call(`setAlias(${name}, ${alias}, ${version})`, () =>
      this.#client.post('registered-models/alias', { name, alias, version: String(version) }),
    );
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    this.#checkOpen();
    await this.#call(`deleteAlias(${name}, ${alias})`, () =>
      this.#client.delete('registered-models/alias', { name, alias }),
    );
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    this.#checkOpen();
    try {
      const { model_version } = await this.#client.get<{ model_version: MlflowModelVersion }>(
        'registered-models/alias',
        { name, alias },
      );
      return versionView(model_version);
    } catch (error) {
      // MLflow answers an alias that is not set with 400 INVALID_PARAMETER_VALUE, not 404.
      if (error instanceof MlflowApiError && error.status === 400 && /alias/i.test(error.message)) {
        throw notFound(`model '${name}' has no alias '${alias}' (${error.message})`, error);
      }
      throw translate(error, `getVersionByAlias(${name}, ${alias})`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  // --- helpers -----------------------------------------------------------------------------

  #checkOpen(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'MLflow registry used after close()');
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw translate(error, what);
    }
  }

  async #rawRun(runId: string): Promise<MlflowRun> {
    const { run } = await this.#call(`getRun(${runId})`, () =>
      this.#client.get<{ run: MlflowRun }>('runs/get', { run_id: runId }),
    );
    return run;
  }

  /** The experiment's id by name; created on first use when `create` is set (races tolerated). */
  #experimentId(name: string, create: boolean): Promise<string> {
    const cached = this.#experimentIds.get(name);
    if (cached) return cached;
    const lookup = (async () => {
      const byName = async (): Promise<MlflowExperiment> =>
        (
          await this.#call(`experiment '${name}'`, () =>
            this.#client.get<{ experiment: MlflowExperiment }>('experiments/get-by-name', {
              experiment_name: name,
            }),
          )
        ).experiment;
      let experiment: MlflowExperiment;
      try {
        experiment = await byName();
      } catch (error) {
        if (!(create && error instanceof VigilError && error.code === 'VIGIL_REGISTRY_NOT_FOUND'))
          throw error;
        try {
          await this.#client.post('experiments/create', { name });
        } catch (createError) {
          if (
            !(createError instanceof MlflowApiError && createError.errorCode === 'RESOURCE_ALREADY_EXISTS')
          ) {
            throw translate(createError, `create experiment '${name}'`);
          }
        }
        experiment = await byName();
      }
      if (experiment.lifecycle_stage === 'deleted') {
        throw invalid(`experiment '${name}' is deleted in MLflow; restore it or pick another name`);
      }
      this.#experimentNames.set(experiment.experiment_id, experiment.name);
      return experiment.experiment_id;
    })();
    this.#experimentIds.set(name, lookup);
    lookup.catch(() => this.#experimentIds.delete(name));
    return lookup;
  }

  async #experimentName(id: string): Promise<string> {
    const known = this.#experimentNames.get(id);
    if (known !== undefined) return known;
    const { experiment } = await this.#call(`experiment ${id}`, () =>
      this.#client.get<{ experiment: MlflowExperiment }>('experiments/get', { experiment_id: id }),
    );
    this.#experimentNames.set(id, experiment.name);
    return experiment.name;
  }

  /** The run's folder in the proxied artifact store, as path segments. */
  async #artifactRoot(runId: string): Promise<string[]> {
    let uri = this.#artifactUris.get(runId);
    if (uri === undefined) {
      uri = (await this.#rawRun(runId)).info.artifact_uri ?? '';
      this.#artifactUris.set(runId, uri);
    }
    const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri);
    if (!match) {
      throw invalid(
        `run ${runId} stores artifacts at '${uri}', not in the server's proxied store: start the MLflow server with --serve-artifacts (and no --default-artifact-root outside it)`,
      );
    }
    return match[1]!
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  }

  async #runView(run: MlflowRun): Promise<Run> {
    const info = run.info;
    if (info.artifact_uri) this.#artifactUris.set(info.run_id, info.artifact_uri);
    const params: Record<string, string> = {};
    for (const { key, value } of run.data?.params ?? []) params[key] = value ?? '';
    const metrics: Record<string, number> = {};
    for (const m of run.data?.metrics ?? []) metrics[m.key] = metricValue(m.value);
    const view: Run = {
      runId: info.run_id,
      experiment: await this.#experimentName(info.experiment_id),
      name: info.run_name ?? '',
      status: (STATUSES as readonly string[]).includes(info.status ?? '')
        ? (info.status as RunStatus)
        : 'RUNNING',
      startTime: num(info.start_time) ?? 0,
      params,
      metrics,
      tags: userTags(run.data?.tags),
    };
    const end = num(info.end_time);
    if (end !== undefined && view.status !== 'RUNNING') view.endTime = end;
    return view;
  }
}

function metricValue(value: number | string | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value);
}

function metricView(m: MlflowMetric): MetricPoint {
  return {
    key: m.key,
    value: metricValue(m.value),
    step: num(m.step) ?? 0,
    timestamp: num(m.timestamp) ?? 0,
  };
}

function modelView(m: MlflowRegisteredModel): RegisteredModel {
  const aliases: Record<string, string> = {};
  for (const { alias, version } of m.aliases ?? []) aliases[alias] = version;
  const latest = (m.latest_versions ?? []).map((v) => Number(v.version)).filter(Number.isFinite);
  const view: RegisteredModel = {
    name: m.name,
    createdAt: num(m.creation_timestamp) ?? 0,
    tags: tagMap(m.tags),
    aliases,
  };
  if (m.description) view.description = m.description;
  if (latest.length > 0) view.latestVersion = String(Math.max(...latest));
  return view;
}

function versionView(v: MlflowModelVersion): ModelVersion {
  const runId = v.run_id ?? '';
  const prefix = `runs:/${runId}/`;
  const view: ModelVersion = {
    name: v.name,
    version: String(v.version),
    runId,
    source: v.source?.startsWith(prefix) ? v.source.slice(prefix.length) : (v.source ?? ''),
    createdAt: num(v.creation_timestamp) ?? 0,
    tags: tagMap(v.tags),
    aliases: [...(v.aliases ?? [])].sort(),
  };
  if (v.description) view.description = v.description;
  return view;
}

/** A string literal for MLflow's search filter grammar. */
function quote(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw invalid(`model name ${value} holds both quote characters; MLflow's search filter cannot express it`);
}
