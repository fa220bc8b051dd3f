/**
 * The lineage record of one run: every step appends what it read and wrote, so a
 * prediction can be traced back to model version → training run → feature
 * definitions → lake commit → raw events → code commit.
 */
export interface LineageStep {
  step: string;
  at: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  /** How the step's outputs came about: run now, reused from the cache, or from the run being resumed. */
  status?: 'ran' | 'cached' | 'resumed';
  durationMs?: number;
  /** Step version and cache key (version, config slice and input hashes). */
  version?: number;
  key?: string;
}

export interface LineageRecord {
  runId: string;
  startedAt: string;
  codeVersion: string;
  configHash: string;
  steps: LineageStep[];
}
