import type { InferenceRequest, InferenceResponse, RiskDriver, RouteSpec, TensorSpec } from '@vigil/core';

/** Model metadata as the Open Inference Protocol returns it. */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: 'onnxruntime';
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Answer of the clinician endpoint `GET /{entity}s/{id}/risk`; the id is under `<entity>_id` (e.g. `patient_id`). */
export type RiskAnswer = RiskBody & Record<string, unknown>;

export interface RiskBody {
  probability: number | null;
  band: string | null;
  drivers: RiskDriver[];
  explanation: { method: string; base: number; logit: number } | null;
  model: { name: string; version: string };
  feature_timestamps: Record<string, string | null> | null;
  fallback: boolean;
  fallback_reason?: string;
  prediction_id: string;
}

/** What the HTTP layer calls: the same methods the in-process API uses. */
export interface HttpTarget {
  infer(
    name: string,
    request: InferenceRequest,
    options?: { version?: string; routeKey?: string },
  ): Promise<InferenceResponse>;
  /** Throws VIGIL_SERVER_UNKNOWN_MODEL for an unknown model or version. */
  metadata(name: string, version?: string): ModelMetadata;
  /** Throws VIGIL_SERVER_UNKNOWN_MODEL for an unknown model or version. */
  ready(name: string, version?: string): boolean;
  route(name: string, spec: RouteSpec): Promise<void>;
  getRoute(name: string): RouteSpec | undefined;
  rollback(name: string): Promise<RouteSpec>;
  /** Throws VIGIL_SERVER_UNKNOWN_ENTITY for an unknown collection or entity. */
  risk(collection: string, id: string, model?: string): Promise<RiskAnswer>;
  /** Text of `GET /metrics`, or undefined when there is no metrics source. */
  metricsText(): Promise<string | undefined>;
}
