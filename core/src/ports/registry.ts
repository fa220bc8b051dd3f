/**
 * Registry: experiment runs and registered models, in MLflow's vocabulary (REST 2.0).
 * Aliases (`champion`, `challenger`) replace the deprecated stages.
 *
 * Call order: `createRun` → `logParams` / `logMetrics` / `logArtifact` → `endRun` →
 * `createModelVersion(from run)` → `setAlias`. Versions are "1", "2", … per model.
 */

export interface RegistryCapabilities {
  /** Artifacts are stored by the registry (MLflow proxied artifacts). Default true. */
  artifacts: boolean;
  /** `searchRuns` supports metric/param filters. Default false. */
  runFilters: boolean;
}

export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface MetricPoint {
  key: string;
  value: number;
  step?: number;
  /** Milliseconds since epoch. */
  timestamp?: number;
}

export interface Run {
  runId: string;
  experiment: string;
  name: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  params: Record<string, string>;
  /** Latest value of each metric. */
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

export interface ModelVersion {
  name: string;
  version: string;
  runId: string;
  /** Artifact path within the run holding the model. */
  source: string;
  createdAt: number;
  tags: Record<string, string>;
  aliases: string[];
  description?: string;
}

export interface RegisteredModel {
  name: string;
  createdAt: number;
  description?: string;
  tags: Record<string, string>;
  /** alias → version */
  aliases: Record<string, string>;
  latestVersion?: string;
}

export interface Registry {
  readonly capabilities: RegistryCapabilities;

  createRun(options: { experiment: string; name?: string; tags?: Record<string, string> }): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  /** Params are write-once: logging a different value for a key throws. */
  logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void>;
  logMetrics(runId: string, metrics: MetricPoint[]): Promise<void>;
  /** Full history of one metric, in step order. */
  getMetricHistory(runId: string, key: string): Promise<MetricPoint[]>;
  setRunTag(runId: string, key: string, value: string): Promise<void>;
  logArtifact(runId: string, path: string, data: Uint8Array): Promise<void>;
  getArtifact(runId: string, path: string): Promise<Uint8Array>;
  endRun(runId: string, status?: Exclude<RunStatus, 'RUNNING'>): Promise<void>;
  /** Runs of an experiment, newest first. */
  searchRuns(options: { experiment: string; maxResults?: number }): Promise<Run[]>;

  /** Create a registered model; idempotent when it already exists. */
  createRegisteredModel(
    name: string,
    options?: { description?: string; tags?: Record<string, string> },
  ): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  createModelVersion(options: {
    name: string;
    runId: string;
    source: string;
    tags?: Record<string, string>;
    description?: string;
  }): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  searchModelVersions(name: string): Promise<ModelVersion[]>;
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void>;
  /** Point an alias at a version (moves it if set elsewhere). */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  deleteAlias(name: string, alias: string): Promise<void>;
  getVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  close(): Promise<void>;
}

export const defaultRegistryCapabilities: RegistryCapabilities = {
  artifacts: true,
  runFilters: false,
};
