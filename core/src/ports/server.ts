import type { ModelArtifact } from '../domain/model.js';

/**
 * Server: loads model versions, routes traffic between them and answers the Open
 * Inference Protocol (KServe v2 / MLServer). Routing uses Seldon's experiment
 * vocabulary: weighted candidates plus an optional mirror whose answers are discarded.
 *
 * Call order: `load(v1)` → `route(default v1)` → `listen` → `infer`… → `load(v2)` →
 * `route(v1: 95, v2: 5)` → `rollback` or `route(v2)` → `close`.
 */

export interface ServerCapabilities {
  /** Weighted routing between versions. Default true. */
  canary: boolean;
  /** Mirror (shadow) traffic. Default true. */
  shadow: boolean;
  /** Serves HTTP itself (`listen`). Default true. */
  http: boolean;
  /** Accepts entity ids and reads their features through an EntityResolver (`setEntityResolver`). Default false. */
  entities: boolean;
  /** Answers from a fallback scorer when the model, the features or the deadline fail (`setFallback`). Default false. */
  fallback: boolean;
}

export type OipDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export interface OipTensor {
  name: string;
  shape: number[];
  datatype: OipDatatype;
  /** Flat row-major data or nested arrays. */
  data: unknown[];
  parameters?: Record<string, unknown>;
}

export interface InferenceRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: OipTensor[];
  outputs?: { name: string }[];
}

export interface InferenceResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: OipTensor[];
}

export interface RouteSpec {
  /** Weighted candidates; split = weight / Σ weights. */
  candidates: { version: string; weight: number }[];
  /** Copy of the traffic; its answers are discarded. */
  mirror?: { version: string; percent: number };
}

export interface LoadedModel {
  name: string;
  version: string;
  artifact: ModelArtifact;
}

/** One entity's feature values as a model reads them, and where they came from. */
export interface EntityFeatures {
  /** Row-major `[ids.length, width]` in the model's input layout (width = the model's input width); NaN = missing. */
  x: Float32Array;
  /**
   * Per entity: ISO time of the values used (null when the store had none), keyed by feature
   * name, or by feature-view name where all of that view's features share one time (a store
   * keeps one event time per view and entity, so a resolver may send one per view).
   */
  timestamps: Record<string, string | null>[];
  /** Per entity: its segment (e.g. trial site) when known, for per-site monitoring. */
  sites?: (string | undefined)[];
}

/** One feature's part of a score, in words a clinician can act on. */
export interface RiskDriver {
  feature: string;
  /** The feature's value in the explained row (null = missing). */
  value: number | null;
  /** Its attribution to the model's raw score (logit); positive raises the risk. */
  contribution: number;
  direction: 'raises' | 'lowers';
  /** E.g. "ALT 3.1× its baseline (raises risk)". */
  text: string;
}

/** Why a score is what it is (see Trainer.explain): `base + Σ contributions = logit`. */
export interface RiskExplanation {
  /** `tree-shap` (exact), `linear-shap`, `sequence-shapley` or `stacked` (documented approximations). */
  method: string;
  base: number;
  logit: number;
  drivers: RiskDriver[];
}

/**
 * Reads entities' features for a model and explains its scores; the job provides it (it knows
 * the feature views and how a sequence model's history is built). The server calls it for
 * requests that carry entity ids and for the clinician endpoint `GET /{entity}s/{id}/risk`.
 */
export interface EntityResolver {
  /** Singular entity name, e.g. `patient`; the clinician endpoint is `/patients/{id}/risk`. */
  readonly entity: string;
  features(model: LoadedModel, ids: readonly string[]): Promise<EntityFeatures>;
  /** Explain one row of `x` (the model's input layout) for the clinician endpoint. */
  explain?(model: LoadedModel, x: Float32Array, k: number): Promise<RiskExplanation>;
  /** Risk band of a calibrated probability, e.g. `low | medium | high`. */
  band?(probability: number): string;
}

/** Scores rows without the model runtime (pure code, e.g. a small tree); it must not fail on a valid row. */
export interface FallbackScorer {
  /** What answers, e.g. `fallback-gbt@3`; reported as the response's model_version. */
  readonly version: string;
  /** P(positive) per row of `x` (`[rows, width]`, the served model's input layout, NaN = missing). */
  score(x: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
}

export interface Server {
  readonly capabilities: ServerCapabilities;
  /** Load (or replace) a model version. */
  load(model: LoadedModel): Promise<void>;
  /** Unload a version that no route uses. */
  unload(name: string, version: string): Promise<void>;
  /** Set the route of a model name; every version named must be loaded. */
  route(name: string, spec: RouteSpec): Promise<void>;
  /** Current route of a model, or undefined. */
  getRoute(name: string): RouteSpec | undefined;
  /** Route back to the previous route spec of the model (rollback). */
  rollback(name: string): Promise<RouteSpec>;
  /**
   * Answer a request. Without `version` the route picks one (`routeKey` pins it, like
   * `x-seldon-route`). The response's `model_version` says which version answered.
   */
  infer(
    name: string,
    request: InferenceRequest,
    options?: { version?: string; routeKey?: string },
  ): Promise<InferenceResponse>;
  /** Read entity features through `resolver` (capability `entities`). */
  setEntityResolver?(resolver: EntityResolver): void;
  /** Answer for `name` from `fallback` when its model, features or deadline fail (capability `fallback`). */
  setFallback?(name: string, fallback: FallbackScorer | undefined): void;
  /** Emit the predictions answered so far now (they are emitted in batches); resolves when they reached the hook. */
  flushPredictions?(): Promise<void>;
  /** Serve the protocol over HTTP on 127.0.0.1 (port 0 = any free port). */
  listen(options: { host?: string; port?: number }): Promise<{ url: string }>;
  close(): Promise<void>;
}

export const defaultServerCapabilities: ServerCapabilities = {
  canary: true,
  shadow: true,
  http: true,
  entities: false,
  fallback: false,
};
