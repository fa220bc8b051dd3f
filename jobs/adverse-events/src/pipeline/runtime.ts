import type { Hooks, LineageRecorder, Logger, PortMap, PortName } from '@vigil/core';

/** What the job needs from the kernel (a started `Kernel` satisfies it). */
export interface JobRuntime {
  readonly runId: string;
  readonly workdir: string;
  readonly logger: Logger;
  readonly lineage: LineageRecorder;
  readonly signal: AbortSignal;
  readonly config: { readonly seed: number };
  port<P extends PortName>(name: P): PortMap[P];
  emit<K extends keyof Hooks>(hook: K, arg: Parameters<Hooks[K]>[0]): Promise<void>;
}

export interface StageProgress {
  stage: string;
  /** Units done and total for this stage (total 0 = indeterminate). */
  done: number;
  total: number;
  message?: string;
}

export type ProgressListener = (progress: StageProgress) => void;

export const STAGES = [
  'generate',
  'ingest',
  'silver',
  'gold',
  'features',
  'train',
  'register',
  'serve',
  'monitor',
] as const;
export type Stage = (typeof STAGES)[number];

/** Throw the abort reason when the run was interrupted, so work stops between batches. */
export function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('interrupted');
}
