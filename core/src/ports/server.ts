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
  /** Serve the protocol over HTTP on 127.0.0.1 (port 0 = any free port). */
  listen(options: { host?: string; port?: number }): Promise<{ url: string }>;
  close(): Promise<void>;
}

export const defaultServerCapabilities: ServerCapabilities = {
  canary: true,
  shadow: true,
  http: true,
};
