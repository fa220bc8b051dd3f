/**
 * A rollout's persisted state: one JSON file per model under the rollout directory,
 * replaced atomically after every decision, so a restarted process resumes where the
 * last decision left it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError, writeFileAtomic } from '@vigil/core';
import type { Reservoir } from '../checks/reservoir.js';
import { type CanaryConfig, canaryConfig } from '../config.js';

export type RolloutStatus = 'running' | 'completed' | 'rolled-back';
export type RolloutAction = 'start' | 'hold' | 'advance' | 'complete' | 'rollback';
export type CheckName = 'errorRate' | 'p99Ms' | 'scorePsi' | 'skewPsi' | 'aurocDrop' | 'fallbackRate';

export interface CheckResult {
  name: CheckName;
  /** The measured value (for aurocDrop: champion AUROC − challenger AUROC); null when it cannot be computed yet. */
  value: number | null;
  limit: number;
  /** true passed, false failed (the rollout rolls back), null not judged yet (too little data). */
  passed: boolean | null;
  /** What the value was computed from, or why it was not judged. */
  detail: string;
}

export interface Decision {
  action: RolloutAction;
  /** 1-based step the decision was taken at (shadow mode: always 1). */
  step: number;
  /** Challenger weight in percent after the decision (shadow mode: 0, the challenger is only mirrored). */
  weight: number;
  /** ISO time on the controller's clock. */
  at: string;
  reason?: string;
  /** The failed check of a rollback. */
  failed?: { check: CheckName; value: number; limit: number };
  checks: CheckResult[];
}

/** What a step has seen of one version. */
export interface VersionWindow {
  /** Requests it answered (prediction records). */
  answered: number;
  /** Requests routed to it that it did not answer itself (reported through `observe({ errors })`). */
  errors: number;
  /** Of those, the ones a fallback scorer answered (`observe({ fallbacks })`). */
  fallbacks: number;
  /** Scores of its answers (reservoir). */
  scores: Reservoir;
  /** Latencies in ms (reservoir). */
  latencies: Reservoir;
  /** Reference scores of its answers (the same rows scored in its training pipeline), for `maxSkewPsi` (reservoir). */
  references?: Reservoir;
}

export interface RolloutState {
  format: 1;
  model: string;
  champion: string;
  challenger: string;
  config: CanaryConfig;
  status: RolloutStatus;
  /** ms since the epoch, on the controller's clock. */
  startedAt: number;
  /** 0-based index into config.steps (shadow: 0). */
  stepIndex: number;
  stepStartedAt: number;
  /** Observations of the current step. */
  window: { champion: VersionWindow; challenger: VersionWindow };
  /** Every decision except holds, oldest first; `last` is the latest decision of any kind. */
  history: Decision[];
  last: Decision;
}

/** File of a model's rollout state under `dir` (the model name URI-encoded). */
export function statePath(dir: string, model: string): string {
  return join(dir, `${encodeURIComponent(model)}.json`);
}

export async function writeState(dir: string, state: RolloutState): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(statePath(dir, state.model), `${JSON.stringify(state)}\n`);
}

function invalidState(path: string, reason: string, cause?: unknown): VigilError {
  return new VigilError('VIGIL_PIPELINE_RUN_UNKNOWN', `rollout state ${path}: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { path },
  });
}

/** Read a model's state; VIGIL_PIPELINE_RUN_UNKNOWN when missing or malformed (the message says which). */
export async function readState(dir: string, model: string): Promise<RolloutState> {
  const path = statePath(dir, model);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw invalidState(path, missing ? `no rollout of model '${model}' to resume` : 'cannot be read', error);
  }
  let state: RolloutState;
  try {
    state = JSON.parse(text) as RolloutState;
  } catch (error) {
    throw invalidState(path, 'is not valid JSON', error);
  }
  if (state?.format !== 1) throw invalidState(path, `format: expected 1, got ${String(state?.format)}`);
  for (const field of ['model', 'champion', 'challenger'] as const) {
    if (typeof state[field] !== 'string' || state[field] === '') {
      throw invalidState(path, `${field}: must be a non-empty string`);
    }
  }
  if (state.model !== model) throw invalidState(path, `model: expected '${model}', got '${state.model}'`);
  if (!['running', 'completed', 'rolled-back'].includes(state.status)) {
    throw invalidState(path, `status: unknown value '${String(state.status)}'`);
  }
  const config = canaryConfig.safeParse(state.config);
  if (!config.success) {
    const issue = config.error.issues[0]!;
    throw invalidState(path, `config.${issue.path.join('.')}: ${issue.message}`);
  }
  state.config = config.data;
  if (
    !Number.isInteger(state.stepIndex) ||
    state.stepIndex < 0 ||
    state.stepIndex >= config.data.steps.length
  ) {
    throw invalidState(path, `stepIndex: ${String(state.stepIndex)} is not a step of config.steps`);
  }
  if (!state.window?.champion || !state.window?.challenger) throw invalidState(path, 'window: missing');
  if (!Array.isArray(state.history) || !state.last) throw invalidState(path, 'history: missing');
  return state;
}
