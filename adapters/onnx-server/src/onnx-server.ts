import { randomBytes, randomUUID } from 'node:crypto';
import type {
  ApiKeyConfig,
  EntityResolver,
  FallbackScorer,
  InferenceRequest,
  InferenceResponse,
  LoadedModel,
  Logger,
  PredictionRecord,
  Pseudonymiser,
  RiskExplanation,
  RouteSpec,
  Server,
  ServerCapabilities,
} from '@vigil/core';
import { createPseudonymiser, isVigilError, VigilError } from '@vigil/core';
import { type RunningHttpServer, startHttpServer } from './http/http-server.js';
import type { HttpTarget, ModelMetadata, RiskAnswer } from './http/http-target.js';
import { ThrottledWarning } from './logging/throttled-warning.js';
import { PredictionEmitter } from './predictions/prediction-emitter.js';
import {
  MAX_ENTITY_ID_LENGTH,
  parseEntityIds,
  parseRequestParameters,
  singleInputName,
} from './protocol/entity-request.js';
import { toOipOutputs } from './protocol/output-tensors.js';
import { invalid, parseInferenceRequest, parseOutputs } from './protocol/parse-request.js';
import { fallbackOutputs, positiveScores } from './protocol/scores.js';
import { RouteTable } from './router/route-table.js';
import { ModelSession } from './runtime/model-session.js';
import type { OrtModule, OrtTensor } from './runtime/ort.js';

export interface OnnxServerOptions {
  host: string;
  port: number;
  bodyLimitBytes: number;
  intraOpThreads: number;
  /** onnxruntime inter-op threads (only 'parallel' uses them). Default 1. */
  interOpThreads?: number;
  /** onnxruntime execution mode. Default 'sequential'. */
  executionMode?: 'sequential' | 'parallel';
  /** onnxruntime graph optimisation level of every session. Default 'all'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Seed of the router's random choices. */
  seed: number;
  /** With a fallback set: answer from it when the routed answer takes longer than this (ms). Default 50. */
  deadlineMs?: number;
  /** HMAC key of entity pseudonyms; absent: a random key per process (a warning is logged once). */
  pseudonymKey?: string;
  /** Answers per version whose latency `stats()` keeps for p50/p99. Default 1024. */
  latencyWindow?: number;
  /** API keys; none: only the state-changing endpoints are refused (401). */
  auth?: { keys: ApiKeyConfig[] };
  /** Token bucket per API key (or client address when anonymous). */
  rateLimit?: { perSecond: number; burst: number };
  /** `GET /metrics` without a key. Default false. */
  publicMetrics?: boolean;
  /** Where answered rows go (the kernel's `predictions` hook); absent: they are not emitted. */
  emit?: (records: PredictionRecord[]) => Promise<void>;
  /** Emit once this many rows wait (default 512) or after this many ms (default 200). */
  emitMaxRows?: number;
  emitMaxDelayMs?: number;
  /** Most rows the runs of one event-loop turn share in one onnxruntime run (see RunBatcher); 1: every run alone. */
  batchRows?: number;
}

/** Traffic counters of one version, for canary analysis. */
export interface VersionStats {
  /** Requests this version answered. */
  served: number;
  /** Mirror copies it received; `mirrorFailures` of them failed. */
  mirrored: number;
  mirrorFailures: number;
  /** Requests routed to it that failed (model or features) or were answered by the fallback. */
  errors: number;
  /** Of those, the ones the fallback answered. */
  fallbacks: number;
  /** Nearest-rank p50/p99 latency (ms) of the last `latencyWindow` answers; null before the first. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** onnxruntime runs that scored more than one request at once (`batchRows`), and the rows in them. */
  batchedRuns: number;
  batchedRows: number;
}

export type FallbackReason = 'model-error' | 'features-unavailable' | 'deadline';

/** One scored request, before it becomes an OIP or clinician answer. */
interface Scored {
  /** The routed session (stats are counted on it). */
  session: ModelSession;
  /** Version that answered: the routed one, or the fallback's. */
  answeredBy: string;
  results: Record<string, OrtTensor> | undefined;
  scores: Float32Array;
  x: Float32Array | undefined;
  fallback: FallbackReason | undefined;
  timestamps: Record<string, string | null>[] | undefined;
  sites: (string | undefined)[] | undefined;
  latencyMs: number;
  /** The mirror's answer to the same rows, when a mirror got a copy (settles after the response). */
  mirror?: Promise<MirrorAnswer | undefined>;
}

interface MirrorAnswer {
  session: ModelSession;
  scores: Float32Array;
  latencyMs: number;
}

/** What to score: a parsed feature matrix, or entity ids whose features the resolver reads. */
type Work = { kind: 'matrix'; x: Float32Array; rows: number } | { kind: 'entities'; ids: string[] };

class Failure extends Error {
  constructor(
    readonly reason: FallbackReason,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original));
  }
}

function unknownModel(message: string): VigilError {
  return new VigilError('VIGIL_SERVER_UNKNOWN_MODEL', message);
}

const DEADLINE = Symbol('deadline');

/**
 * What a log line may say of a failure: the model runtime's message, but of a resolver
 * failure only its code or class (a resolver's message may carry the entity id).
 */
function describeFailure(error: unknown): { errorCode?: string; message?: string } {
  const original = error instanceof Failure ? error.original : error;
  const code = (original as { code?: unknown } | null)?.code;
  const errorCode = typeof code === 'string' ? code : original instanceof Error ? original.name : undefined;
  if (error instanceof Failure && error.reason === 'model-error') {
    return { ...(errorCode ? { errorCode } : {}), message: error.message.slice(0, 200) };
  }
  return errorCode ? { errorCode } : {};
}

/**
 * Embedded Server: onnxruntime sessions per model version, a canary/shadow router with
 * rollback, entity-id requests through an EntityResolver, a fallback scorer behind a
 * deadline, and the Open Inference Protocol over HTTP. Routing decisions (control plane:
 * `route`, `rollback`) are compiled once; `infer` (data plane) only looks them up.
 */
export class OnnxServer implements Server, HttpTarget {
  readonly capabilities: ServerCapabilities = {
    canary: true,
    shadow: true,
    http: true,
    entities: true,
    fallback: true,
  };
  readonly #ort: OrtModule;
  readonly #options: OnnxServerOptions;
  readonly #logger: Logger;
  /** One "answered from the fallback" line per model, version and reason every 10 s. */
  readonly #fallbackWarning: ThrottledWarning;
  readonly #routes: RouteTable;
  /** name → version → session. */
  readonly #models = new Map<string, Map<string, ModelSession>>();
  /** name → the version loaded last; answers when a model has no route. */
  readonly #latest = new Map<string, string>();
  readonly #fallbacks = new Map<string, FallbackScorer>();
  readonly #mirrors = new Set<Promise<unknown>>();
  readonly #emitter: PredictionEmitter | undefined;
  #pseudonymise: { entity: Pseudonymiser; prediction: Pseudonymiser } | undefined;
  #resolver: EntityResolver | undefined;
  #metricsSource: (() => string | Promise<string>) | undefined;
  #http: Promise<RunningHttpServer> | undefined;
  #closing: Promise<void> | undefined;

  constructor(ort: OrtModule, options: OnnxServerOptions, logger: Logger) {
    this.#ort = ort;
    this.#options = options;
    this.#logger = logger;
    this.#fallbackWarning = new ThrottledWarning(logger);
    this.#routes = new RouteTable(options.seed);
    // A configured key that is too short fails here, at startup, not on the first request.
    if (options.pseudonymKey !== undefined) this.#pseudonymisers();
    if (options.emit) {
      this.#emitter = new PredictionEmitter(
        options.emit,
        { maxRows: options.emitMaxRows ?? 512, maxDelayMs: options.emitMaxDelayMs ?? 200 },
        logger,
      );
    }
  }

  async load(model: LoadedModel): Promise<void> {
    this.#assertOpen('load');
    const { name, version } = model ?? {};
    if (typeof name !== 'string' || name === '') {
      throw new VigilError('VIGIL_SERVER_INVALID_MODEL', 'model.name: must be a non-empty string');
    }
    if (typeof version !== 'string' || version === '') {
      throw new VigilError(
        'VIGIL_SERVER_INVALID_MODEL',
        `model ${name}: model.version must be a non-empty string`,
      );
    }
    const session = await ModelSession.create(
      this.#ort,
      model,
      {
        intraOpNumThreads: this.#options.intraOpThreads,
        interOpNumThreads: this.#options.interOpThreads ?? 1,
        executionMode: this.#options.executionMode ?? 'sequential',
        graphOptimizationLevel: this.#options.graphOptimizationLevel ?? 'all',
      },
      this.#options.latencyWindow ?? 1024,
      this.#options.batchRows ?? 1,
    );
    if (this.#closing) {
      await session.release();
      this.#assertOpen('load');
    }
    let versions = this.#models.get(name);
    if (!versions) {
      versions = new Map();
      this.#models.set(name, versions);
    }
    const previous = versions.get(version);
    versions.set(version, session);
    this.#latest.set(name, version);
    this.#logger.info(
      { model: name, version, sha256: model.artifact.sha256, replaced: !!previous },
      'model loaded',
    );
    if (previous) await previous.release();
  }

  async unload(name: string, version: string): Promise<void> {
    this.#assertOpen('unload');
    const versions = this.#models.get(name);
    const session = versions?.get(version);
    if (!versions || !session) throw unknownModel(`model '${name}' has no loaded version '${version}'`);
    if (this.#routes.uses(name, version)) {
      throw new VigilError(
        'VIGIL_SERVER_INVALID_ROUTE',
        `model ${name} version ${version} is used by the current route; route away from it before unloading`,
      );
    }
    versions.delete(version);
    if (this.#latest.get(name) === version) {
      const last = [...versions.keys()].at(-1);
      if (last === undefined) this.#latest.delete(name);
      else this.#latest.set(name, last);
    }
    if (versions.size === 0) this.#models.delete(name);
    this.#logger.info({ model: name, version }, 'model unloaded');
    await session.release();
  }

  async route(name: string, spec: RouteSpec): Promise<void> {
    this.#assertOpen('route');
    this.#routes.set(name, spec, (v) => this.#models.get(name)?.has(v) === true);
    this.#logger.info({ model: name, route: this.#routes.get(name) }, 'route set');
  }

  getRoute(name: string): RouteSpec | undefined {
    return this.#routes.get(name);
  }

  async rollback(name: string): Promise<RouteSpec> {
    this.#assertOpen('rollback');
    const spec = this.#routes.rollback(name, (v) => this.#models.get(name)?.has(v) === true);
    this.#logger.info({ model: name, route: spec }, 'route rolled back');
    return spec;
  }

  setEntityResolver(resolver: EntityResolver): void {
    if (
      resolver === null ||
      typeof resolver !== 'object' ||
      typeof resolver.entity !== 'string' ||
      !/^[a-z][a-z0-9_]*$/.test(resolver.entity) ||
      typeof resolver.features !== 'function'
    ) {
      throw invalid(
        'resolver.entity: must be a lower-case name (e.g. patient) and resolver.features a function',
      );
    }
    this.#resolver = resolver;
  }

  setFallback(name: string, fallback: FallbackScorer | undefined): void {
    if (fallback === undefined) {
      this.#fallbacks.delete(name);
      return;
    }
    if (
      typeof fallback.version !== 'string' ||
      fallback.version === '' ||
      typeof fallback.score !== 'function'
    ) {
      throw invalid(`fallback of ${name}: version must be a non-empty string and score a function`);
    }
    this.#fallbacks.set(name, fallback);
  }

  /**
   * Text of `GET /metrics` (e.g. the Monitor's Prometheus exposition, so OIP, clinician,
   * health and metrics share one port). Without a source `/metrics` answers 404.
   */
  setMetricsSource(source: (() => string | Promise<string>) | undefined): void {
    this.#metricsSource = source;
  }

  async metricsText(): Promise<string | undefined> {
    return this.#metricsSource ? await this.#metricsSource() : undefined;
  }

  async infer(
    name: string,
    request: InferenceRequest,
    options: { version?: string; routeKey?: string } = {},
  ): Promise<InferenceResponse> {
    this.#assertOpen('infer');
    const started = performance.now();
    const versions = this.#models.get(name);
    if (!versions) throw unknownModel(`model '${name}' is not loaded`);
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      // parseInferenceRequest names the problem.
      parseInferenceRequest(request, { name, version: '', inputName: '', width: 0, outputNames: [] });
    }
    const inputName = singleInputName(request);
    const resolver = this.#resolver;
    const ids =
      resolver && inputName === `${resolver.entity}_id` ? parseEntityIds(request, inputName) : undefined;
    const { version, session, routed } = this.#pick(name, versions, options, ids?.[0]);
    if (
      !ids &&
      !resolver &&
      inputName !== undefined &&
      inputName !== session.inputName &&
      /_id$/.test(inputName)
    ) {
      throw invalid(
        `inputs[0].name: '${inputName.slice(0, 64)}' is an entity id input, but this server has no entity resolver (send the feature matrix as '${session.inputName}')`,
      );
    }
    const params = parseRequestParameters(request);
    let work: Work;
    let fetches: readonly string[];
    let id: string | undefined;
    if (ids) {
      const requestId = (request as { id?: unknown }).id;
      if (requestId !== undefined && typeof requestId !== 'string') {
        throw invalid('id: expected a string');
      }
      id = requestId;
      fetches = parseOutputs((request as { outputs?: unknown }).outputs, session);
      work = { kind: 'entities', ids };
    } else {
      const parsed = parseInferenceRequest(request, session);
      id = parsed.id;
      fetches = parsed.fetches;
      work = { kind: 'matrix', x: parsed.data, rows: parsed.rows };
    }
    const rows = ids ? ids.length : (work as { rows: number }).rows;
    if (Array.isArray(params.entityIds) && params.entityIds.length !== rows) {
      throw invalid(`parameters.entity_id: ${params.entityIds.length} ids for ${rows} rows`);
    }
    const scored = await this.#score(name, version, session, routed, work, fetches, started);
    const predictionIds = Array.from({ length: rows }, (_, i) =>
      id !== undefined ? `${id}:${i}` : randomUUID(),
    );
    this.#emit(name, scored, predictionIds, ids ?? params.entityIds, params.at, params.site);

    const response: InferenceResponse = {
      model_name: name,
      model_version: scored.answeredBy,
      outputs: scored.results
        ? toOipOutputs(scored.results, fetches)
        : fallbackOutputs(scored.scores, rows, fetches, session.outputs),
    };
    if (id !== undefined) response.id = id;
    const parameters: Record<string, unknown> = {
      prediction_ids: predictionIds,
      fallback: !!scored.fallback,
    };
    if (scored.fallback) parameters.fallback_reason = scored.fallback;
    if (ids) parameters.feature_timestamps = scored.timestamps ?? ids.map(() => null);
    response.parameters = parameters;
    return response;
  }

  /** The clinician's view of one entity: score, band, drivers (see `GET /{entity}s/{id}/risk`). */
  async risk(collection: string, entityId: string, modelName?: string): Promise<RiskAnswer> {
    this.#assertOpen('risk');
    const started = performance.now();
    const resolver = this.#resolver;
    if (!resolver || collection !== `${resolver.entity}s`) {
      throw new VigilError(
        'VIGIL_SERVER_UNKNOWN_ENTITY',
        `no entity collection '${collection.slice(0, 64)}'`,
      );
    }
    if (entityId.length === 0 || entityId.length > MAX_ENTITY_ID_LENGTH) {
      throw invalid(`id: expected 1 to ${MAX_ENTITY_ID_LENGTH} characters, got ${entityId.length}`);
    }
    const name = modelName ?? this.#models.keys().next().value;
    const versions = name === undefined ? undefined : this.#models.get(name);
    if (name === undefined || !versions)
      throw unknownModel(`model '${String(name).slice(0, 64)}' is not loaded`);
    const { version, session, routed } = this.#pick(name, versions, {}, entityId);
    const fetches = session.scoreOutput ? [session.scoreOutput] : session.outputNames;
    const scored = await this.#score(
      name,
      version,
      session,
      routed,
      { kind: 'entities', ids: [entityId] },
      fetches,
      started,
    );
    const predictionId = randomUUID();
    this.#emit(name, scored, [predictionId], [entityId], undefined, undefined);
    const probability = scored.scores[0]!;
    let explanation: RiskExplanation | undefined;
    if (!scored.fallback && resolver.explain && scored.x) {
      try {
        explanation = await resolver.explain(session.model, scored.x.subarray(0, session.width), 5);
      } catch (error) {
        // Only the error's class or code: a resolver's message may name the entity.
        this.#logger.warn(
          { model: name, version, ...describeFailure(error) },
          'risk explanation failed; answered without drivers',
        );
      }
    }
    let band: string | null = null;
    try {
      band = resolver.band && Number.isFinite(probability) ? resolver.band(probability) : null;
    } catch {
      band = null;
    }
    const answer: RiskAnswer = {
      [`${resolver.entity}_id`]: entityId,
      probability: Number.isFinite(probability) ? probability : null,
      band,
      drivers: explanation?.drivers.slice(0, 5) ?? [],
      explanation: explanation
        ? { method: explanation.method, base: explanation.base, logit: explanation.logit }
        : null,
      model: { name, version: scored.answeredBy },
      feature_timestamps: scored.timestamps?.[0] ?? null,
      fallback: !!scored.fallback,
      prediction_id: predictionId,
    };
    if (scored.fallback) answer.fallback_reason = scored.fallback;
    return answer;
  }

  metadata(name: string, version?: string): ModelMetadata {
    const versions = this.#models.get(name);
    if (!versions) throw unknownModel(`model '${name}' is not loaded`);
    const shown = version ?? this.getRoute(name)?.candidates[0]?.version ?? this.#latest.get(name)!;
    const session = versions.get(shown);
    if (!session) throw unknownModel(`model '${name}' has no loaded version '${shown}'`);
    return {
      name,
      versions: version === undefined ? [...versions.keys()] : [version],
      platform: 'onnxruntime',
      inputs: [session.input],
      outputs: [...session.outputs],
    };
  }

  ready(name: string, version?: string): boolean {
    const versions = this.#models.get(name);
    if (!versions) throw unknownModel(`model '${name}' is not loaded`);
    if (version !== undefined && !versions.has(version)) {
      throw unknownModel(`model '${name}' has no loaded version '${version}'`);
    }
    return true;
  }

  async listen(options: { host?: string; port?: number } = {}): Promise<{ url: string }> {
    this.#assertOpen('listen');
    this.#http ??= startHttpServer(this, {
      host: options.host ?? this.#options.host,
      port: options.port ?? this.#options.port,
      bodyLimitBytes: this.#options.bodyLimitBytes,
      logger: this.#logger,
      keys: this.#options.auth?.keys ?? [],
      ...(this.#options.rateLimit ? { rateLimit: this.#options.rateLimit } : {}),
      publicMetrics: this.#options.publicMetrics ?? false,
    });
    try {
      const { url } = await this.#http;
      return { url };
    } catch (error) {
      this.#http = undefined;
      throw error;
    }
  }

  /** Per-version traffic counters, errors, fallbacks and recent latency, for canary analysis. */
  stats(): Record<string, Record<string, VersionStats>> {
    const out: Record<string, Record<string, VersionStats>> = {};
    for (const [name, versions] of this.#models) {
      const perVersion: Record<string, VersionStats> = {};
      for (const [version, s] of versions) {
        perVersion[version] = {
          served: s.served,
          mirrored: s.mirrored,
          mirrorFailures: s.mirrorFailures,
          errors: s.errors,
          fallbacks: s.fallbacks,
          latencyP50Ms: s.latency.quantile(0.5),
          latencyP99Ms: s.latency.quantile(0.99),
          batchedRuns: s.batchedRuns,
          batchedRows: s.batchedRows,
        };
      }
      out[name] = perVersion;
    }
    return out;
  }

  /** Emit every prediction still waiting (they are also flushed on a timer and on close). */
  flushPredictions(): Promise<void> {
    return this.#emitter?.flush() ?? Promise.resolve();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    if (http) await http.then((h) => h.close()).catch(() => undefined);
    await Promise.allSettled([...this.#mirrors]);
    await this.#emitter?.close();
    const sessions = [...this.#models.values()].flatMap((versions) => [...versions.values()]);
    this.#models.clear();
    this.#latest.clear();
    await Promise.allSettled(sessions.map((s) => s.release()));
  }

  #pick(
    name: string,
    versions: Map<string, ModelSession>,
    options: { version?: string; routeKey?: string },
    entityId: string | undefined,
  ): { version: string; session: ModelSession; routed: boolean } {
    const routed = options.version === undefined;
    const version = routed
      ? (this.#routes.pick(name, options.routeKey ?? entityId) ?? this.#latest.get(name)!)
      : options.version!;
    const session = versions.get(version);
    if (!session)
      throw unknownModel(`model '${name}' has no loaded version '${String(version).slice(0, 64)}'`);
    return { version, session, routed };
  }

  /**
   * Score `work` on `session`; with a fallback for `name`, a model failure, a resolver
   * failure or the deadline is answered by the fallback instead of failing.
   */
  async #score(
    name: string,
    version: string,
    session: ModelSession,
    routed: boolean,
    work: Work,
    fetches: readonly string[],
    started: number,
  ): Promise<Scored> {
    const rows = work.kind === 'matrix' ? work.rows : work.ids.length;
    const runFetches =
      session.scoreOutput === undefined || fetches.includes(session.scoreOutput)
        ? fetches
        : [...fetches, session.scoreOutput];
    const state: {
      x: Float32Array | undefined;
      timestamps: Record<string, string | null>[] | undefined;
      sites: (string | undefined)[] | undefined;
      mirror?: Promise<MirrorAnswer | undefined>;
    } = { x: work.kind === 'matrix' ? work.x : undefined, timestamps: undefined, sites: undefined };

    const attempt = async (): Promise<Record<string, OrtTensor>> => {
      if (work.kind === 'entities') {
        const features = await this.#features(session, work.ids);
        state.x = features.x;
        state.timestamps = features.timestamps;
        state.sites = features.sites;
      }
      const x = state.x!;
      if (routed) {
        const mirror = this.#routes.mirror(name);
        if (mirror !== undefined)
          state.mirror = this.#sendMirror(this.#models.get(name)!, mirror, session, x, rows);
      }
      try {
        return await session.run(x, rows, runFetches);
      } catch (error) {
        throw new Failure('model-error', error);
      }
    };

    const fallback = this.#fallbacks.get(name);
    const finish = (
      results: Record<string, OrtTensor> | undefined,
      scores: Float32Array,
      reason?: FallbackReason,
    ) => {
      const latencyMs = performance.now() - started;
      session.latency.add(latencyMs);
      if (reason) {
        session.errors++;
        session.fallbacks++;
      } else {
        session.served++;
      }
      return {
        session,
        answeredBy: reason ? fallback!.version : version,
        results,
        scores,
        x: state.x,
        fallback: reason,
        timestamps: state.timestamps,
        sites: state.sites,
        latencyMs,
        ...(state.mirror ? { mirror: state.mirror } : {}),
      } satisfies Scored;
    };

    if (!fallback) {
      try {
        const results = await attempt();
        return finish(results, positiveScores(results[session.scoreOutput ?? ''], rows));
      } catch (error) {
        if (!isVigilError(error, 'VIGIL_SERVER_UNKNOWN_ENTITY')) session.errors++;
        if (error instanceof Failure) {
          if (error.reason === 'features-unavailable') {
            // The resolver's own message may name the entity: it stays in `cause` only.
            const { errorCode } = describeFailure(error);
            throw new VigilError(
              'VIGIL_SERVER_FEATURES_UNAVAILABLE',
              `model ${name}: the entity resolver failed${errorCode ? ` (${errorCode})` : ''} and no fallback is set`,
              { cause: error.original },
            );
          }
          throw error.original;
        }
        throw error;
      }
    }

    const deadlineMs = this.#options.deadlineMs ?? 50;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof DEADLINE>((resolve) => {
      timer = setTimeout(() => resolve(DEADLINE), Math.max(0, deadlineMs - (performance.now() - started)));
    });
    const running = attempt();
    let reason: FallbackReason;
    try {
      const winner = await Promise.race([running, deadline]);
      // An answer counts only if it came within the deadline (timers may fire late).
      if (winner !== DEADLINE && performance.now() - started <= deadlineMs) {
        return finish(winner, positiveScores(winner[session.scoreOutput ?? ''], rows));
      }
      reason = 'deadline';
      running.catch(() => undefined); // its late answer or failure is dropped
    } catch (error) {
      if (isVigilError(error, 'VIGIL_SERVER_UNKNOWN_ENTITY')) throw error;
      reason = error instanceof Failure ? error.reason : 'model-error';
      this.#fallbackWarning.warn(
        `${name}\u0000${version}\u0000${reason}`,
        { model: name, version, reason, ...describeFailure(error) },
        'answered from the fallback',
      );
    } finally {
      clearTimeout(timer);
    }
    // Features unavailable: the fallback scores all-missing rows (trees send NaN the default way).
    const x = state.x ?? new Float32Array(rows * session.width).fill(Number.NaN);
    let scores: Float32Array;
    try {
      scores = Float32Array.from(await fallback.score(x, rows));
      if (scores.length !== rows) throw new Error(`returned ${scores.length} scores for ${rows} rows`);
    } catch (error) {
      session.errors++;
      throw new VigilError(
        'VIGIL_SERVER_FALLBACK_FAILED',
        `model ${name}: the fallback ${fallback.version} failed after ${reason}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    return finish(undefined, scores, reason);
  }

  /** The resolver's features for `ids`, checked against the session's input layout. */
  async #features(session: ModelSession, ids: string[]) {
    const resolver = this.#resolver!;
    let features: Awaited<ReturnType<EntityResolver['features']>>;
    try {
      features = await resolver.features(session.model, ids);
    } catch (error) {
      if (isVigilError(error, 'VIGIL_SERVER_UNKNOWN_ENTITY')) throw error;
      throw new Failure('features-unavailable', error);
    }
    const expected = ids.length * session.width;
    if (!(features?.x instanceof Float32Array) || features.x.length !== expected) {
      throw new Failure(
        'features-unavailable',
        new Error(
          `resolver.features returned x of ${features?.x instanceof Float32Array ? features.x.length : 'no Float32Array'} values, expected ${ids.length} × ${session.width}`,
        ),
      );
    }
    return {
      x: features.x,
      timestamps: Array.isArray(features.timestamps) ? features.timestamps : undefined,
      sites: Array.isArray(features.sites) ? features.sites : undefined,
    };
  }

  /** The entity and prediction-id pseudonymisers (a random key, with one warning, when none is configured). */
  #pseudonymisers(): { entity: Pseudonymiser; prediction: Pseudonymiser } {
    if (!this.#pseudonymise) {
      let key = this.#options.pseudonymKey;
      if (key === undefined) {
        this.#logger.warn(
          {},
          'pseudonymKey is not configured: entity keys use a random per-process key, so they change on every restart',
        );
        key = randomBytes(32).toString('hex');
      }
      this.#pseudonymise = {
        entity: createPseudonymiser(key),
        prediction: createPseudonymiser(key, { cache: false }),
      };
    }
    return this.#pseudonymise;
  }

  /** Queue the answered rows for the `predictions` hook (built and emitted later, off the response path). */
  #emit(
    name: string,
    scored: Scored,
    predictionIds: readonly string[],
    entityIds: string | readonly string[] | undefined,
    at: Date | undefined,
    site: string | undefined,
  ): void {
    if (!this.#emitter) return;
    const pseudonymise = this.#pseudonymisers();
    const when = at ?? new Date();
    const sites = scored.sites ?? (site !== undefined ? predictionIds.map(() => site) : undefined);
    this.#emitter.add({
      model: name,
      version: scored.answeredBy,
      predictionIds,
      ...(entityIds !== undefined ? { entityIds } : {}),
      pseudonymise,
      scores: scored.scores,
      latencyMs: scored.latencyMs,
      fallback: !!scored.fallback,
      at: when,
      ...(sites ? { sites } : {}),
      ...(scored.x ? { x: scored.x } : {}),
      width: scored.session.width,
      featureNames: scored.session.model.artifact.featureNames,
    });
    // The mirror's answers to the same rows: shadow predictions of its version, joined to the
    // served predictions' outcomes (`shadowOf`), so a shadow's quality is measured on live traffic.
    void scored.mirror?.then((answer) => {
      if (!answer || !this.#emitter) return;
      this.#emitter.add({
        model: name,
        version: answer.session.version,
        predictionIds: predictionIds.map((id) => `${id}:shadow:${answer.session.version}`),
        shadowOf: predictionIds,
        ...(entityIds !== undefined ? { entityIds } : {}),
        pseudonymise,
        scores: answer.scores,
        latencyMs: answer.latencyMs,
        fallback: false,
        at: when,
        ...(sites ? { sites } : {}),
        ...(scored.x ? { x: scored.x } : {}),
        width: answer.session.width,
        featureNames: answer.session.model.artifact.featureNames,
      });
    });
  }

  /**
   * Score a copy of the rows on the mirror version; its answer is discarded by the response and
   * emitted as a shadow prediction (see #emit).
   */
  #sendMirror(
    versions: Map<string, ModelSession>,
    version: string,
    primary: ModelSession,
    x: Float32Array,
    rows: number,
  ): Promise<MirrorAnswer | undefined> {
    const mirror = versions.get(version);
    if (!mirror) return Promise.resolve(undefined);
    mirror.mirrored++;
    const run = async (): Promise<MirrorAnswer> => {
      // Same input layout: reuse the batch (onnxruntime does not write to inputs).
      if (mirror.width !== primary.width) {
        throw invalid(
          `mirror ${mirror.name} version ${version} takes ${mirror.width} features per row, the primary ${primary.width}`,
        );
      }
      const started = performance.now();
      const fetches = mirror.scoreOutput === undefined ? mirror.outputNames : [mirror.scoreOutput];
      const results = await mirror.run(x, rows, fetches);
      return {
        session: mirror,
        scores: positiveScores(results[mirror.scoreOutput ?? ''], rows),
        latencyMs: performance.now() - started,
      };
    };
    const task = run().catch((error: unknown) => {
      mirror.mirrorFailures++;
      this.#logger.warn(
        {
          model: mirror.name,
          version,
          code: isVigilError(error) ? error.code : undefined,
          reason: error instanceof Error ? error.message : String(error),
        },
        'mirror request failed; the response was not affected',
      );
      return undefined;
    });
    this.#mirrors.add(task);
    void task.finally(() => this.#mirrors.delete(task));
    return task;
  }

  #assertOpen(method: string): void {
    if (this.#closing) throw new VigilError('VIGIL_KERNEL_CLOSED', `onnx server: ${method}() after close()`);
  }
}
