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
}

export interface LineageRecord {
  runId: string;
  startedAt: string;
  codeVersion: string;
  configHash: string;
  steps: LineageStep[];
}
