export interface StageProgress {
  stage: string;
  /** Units done and total for this stage (total 0 = indeterminate). */
  done: number;
  total: number;
  message?: string;
}

export type ProgressListener = (progress: StageProgress) => void;

/** Throw the abort reason when the run was interrupted, so work stops between batches. */
export function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('interrupted');
}
