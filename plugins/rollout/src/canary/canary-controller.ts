/**
 * Metric-driven progressive canary (or shadow evaluation) of one model with automatic
 * rollback. Control plane only: it sets routes on the Server port and reads what the
 * caller observed; it never sits in `infer`'s path.
 *
 * Loop: `start` (route step 1) → `observe`… (prediction records, error counts) →
 * `evaluate(now)` → hold | advance | complete | rollback, applied to the server and
 * written to `<dir>/<model>.json` → … A new process continues with `resume`.
 */
import type { EvaluateRequest, Evaluation, Logger, Monitor, RouteSpec, Server } from '@vigil/core';
import { VigilError } from '@vigil/core';
import { nearestRankQuantile } from '../checks/latency-quantile.js';
import { emptyReservoir, offer } from '../checks/reservoir.js';
import { scorePsi } from '../checks/score-psi.js';
import { type CanaryConfig, type CanaryConfigInput, canaryConfig } from '../config.js';
import {
  type CheckName,
  type CheckResult,
  type Decision,
  type RolloutAction,
  type RolloutState,
  readState,
  type VersionWindow,
  writeState,
} from './rollout-state.js';

/** Where labelled outcomes come from: a Monitor port, or a function with its `evaluate` shape. */
export type OutcomeSource =
  | Pick<Monitor, 'evaluate'>
  | ((request: EvaluateRequest) => Promise<Pick<Evaluation, 'labelled' | 'auroc'>>);

/** One answered request, e.g. a `PredictionRecord` from the kernel's `predictions` hook. */
export interface PredictionObservation {
  /** Ignored when it names another model. */
  model?: string;
  /** The version that answered (in shadow mode the challenger's records are its mirror answers). */
  version: string;
  /** P(positive). */
  score?: number;
  latencyMs?: number;
  /**
   * The score the same model gives the same row in its training pipeline (offline), for the
   * training–serving skew check `maxSkewPsi`; only the challenger's are used.
   */
  reference?: number;
  /**
   * True when a fallback scorer answered: the record is ignored (it says nothing about
   * `version`'s model); report such requests through `errors` and `fallbacks`.
   */
  fallback?: boolean;
  /** When it was answered; records from before the current step started are ignored (they were routed by an earlier step). */
  at?: Date;
}

/** What the caller saw since its last `observe` call (deltas, not running totals; see `StatsDeltas`). */
export interface RolloutObservation {
  /** Answered requests; each counts as one request of its version. */
  predictions?: readonly PredictionObservation[];
  /**
   * Requests routed to a version that it did not answer itself, per version: failures, and
   * those a fallback scorer answered (the onnx server's per-version `errors`). They have
   * no prediction record of that version.
   */
  errors?: Readonly<Record<string, number>>;
  /** Of `errors`, those a fallback scorer answered (the onnx server's per-version `fallbacks`), for `maxFallbackRate`. */
  fallbacks?: Readonly<Record<string, number>>;
}

export interface CanaryControllerOptions {
  server: Pick<Server, 'route'>;
  /** Directory of the state files (`<dir>/<model>.json`), e.g. `<workdir>/rollout`. */
  dir: string;
  config?: CanaryConfigInput;
  /** Needed when `maxAurocDrop` is set. */
  outcomes?: OutcomeSource;
  logger?: Logger;
}

function configInvalid(issues: { path: string; message: string }[]): VigilError {
  return new VigilError(
    'VIGIL_CONFIG_INVALID',
    `rollout config: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    { details: { issues } },
  );
}

function parseConfig(
  input: CanaryConfigInput | undefined,
  outcomes: OutcomeSource | undefined,
): CanaryConfig {
  const parsed = canaryConfig.safeParse(input ?? {});
  if (!parsed.success) {
    throw configInvalid(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  if (parsed.data.maxAurocDrop !== undefined && outcomes === undefined) {
    throw configInvalid([
      {
        path: 'maxAurocDrop',
        message: 'needs an outcomes source (a Monitor or an evaluate function) to read AUROC from',
      },
    ]);
  }
  return parsed.data;
}

function invalidRecord(message: string): VigilError {
  return new VigilError('VIGIL_MONITOR_INVALID_RECORD', `rollout observe: ${message}`);
}

function emptyWindow(): VersionWindow {
  return { answered: 0, errors: 0, fallbacks: 0, scores: emptyReservoir(), latencies: emptyReservoir() };
}

function time(now: number | Date): number {
  const ms = typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(ms)) throw new VigilError('VIGIL_CONFIG_INVALID', 'rollout: now must be a valid time');
  return ms;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** The route a state implies: challenger listed first so its hash range only grows (sticky patients stay on it). */
export function routeForState(state: RolloutState): RouteSpec {
  const { champion, challenger, config, status } = state;
  if (status === 'rolled-back') return { candidates: [{ version: champion, weight: 100 }] };
  if (config.mode === 'shadow') {
    if (status === 'completed') return { candidates: [{ version: champion, weight: 100 }] };
    return {
      candidates: [{ version: champion, weight: 100 }],
      mirror: { version: challenger, percent: 100 },
    };
  }
  if (status === 'completed') return { candidates: [{ version: challenger, weight: 100 }] };
  const weight = config.steps[state.stepIndex]!;
  return {
    candidates: [
      { version: challenger, weight },
      { version: champion, weight: 100 - weight },
    ],
  };
}

/** Challenger weight in percent of a state (shadow: 0). */
function weightOf(state: RolloutState): number {
  if (state.status === 'rolled-back' || state.config.mode === 'shadow') return 0;
  if (state.status === 'completed') return 100;
  return state.config.steps[state.stepIndex]!;
}

export class CanaryController {
  readonly #server: Pick<Server, 'route'>;
  readonly #dir: string;
  readonly #config: CanaryConfig;
  readonly #outcomes: OutcomeSource | undefined;
  readonly #logger: Logger | undefined;
  #state: RolloutState | undefined;
  /** Serialises start / evaluate so two decisions never interleave. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: CanaryControllerOptions) {
    this.#server = options.server;
    this.#dir = options.dir;
    this.#outcomes = options.outcomes;
    this.#logger = options.logger;
    this.#config = parseConfig(options.config, options.outcomes);
  }

  /**
   * Reload `<dir>/<model>.json` and re-apply the route it implies (the versions must be
   * loaded on `server`). The persisted config is used; `options.config` is ignored.
   */
  static async resume(
    dir: string,
    server: Pick<Server, 'route'>,
    model: string,
    options: { outcomes?: OutcomeSource; logger?: Logger } = {},
  ): Promise<CanaryController> {
    const state = await readState(dir, model);
    const controller = new CanaryController({
      server,
      dir,
      config: state.config,
      ...(options.outcomes ? { outcomes: options.outcomes } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    controller.#state = state;
    await server.route(model, routeForState(state));
    options.logger?.info(
      { model, status: state.status, step: state.stepIndex + 1, weight: weightOf(state) },
      'rollout resumed',
    );
    return controller;
  }

  get config(): CanaryConfig {
    return this.#config;
  }

  /** A copy of the current state, or undefined before `start`. */
  get state(): RolloutState | undefined {
    return this.#state === undefined ? undefined : structuredClone(this.#state);
  }

  /** The route the controller wants the server to have now. */
  route(): RouteSpec | undefined {
    return this.#state === undefined ? undefined : routeForState(this.#state);
  }

  /** Route step 1 (canary: challenger at the first weight; shadow: champion with the challenger mirrored) and persist. */
  start(model: string, champion: string, challenger: string, now: number | Date): Promise<Decision> {
    return this.#serial(() => this.#start(model, champion, challenger, time(now)));
  }

  /** Add what the caller saw; records of other models or versions, and from before the step began, are ignored. */
  observe(observation: RolloutObservation): void {
    const state = this.#state;
    if (state === undefined || state.status !== 'running') return;
    const { predictions = [], errors = {}, fallbacks = {} } = observation;
    const windowOf = (version: string): VersionWindow | undefined =>
      version === state.champion
        ? state.window.champion
        : version === state.challenger
          ? state.window.challenger
          : undefined;
    predictions.forEach((p, i) => {
      if (p === null || typeof p !== 'object' || typeof p.version !== 'string') {
        throw invalidRecord(`predictions[${i}].version: must be a string`);
      }
      if (p.score !== undefined && !Number.isFinite(p.score)) {
        throw invalidRecord(`predictions[${i}].score: must be a finite number, got ${String(p.score)}`);
      }
      if (p.reference !== undefined && !Number.isFinite(p.reference)) {
        throw invalidRecord(
          `predictions[${i}].reference: must be a finite number, got ${String(p.reference)}`,
        );
      }
      if (p.latencyMs !== undefined && !(Number.isFinite(p.latencyMs) && p.latencyMs >= 0)) {
        throw invalidRecord(
          `predictions[${i}].latencyMs: must be a finite number >= 0, got ${String(p.latencyMs)}`,
        );
      }
    });
    for (const [field, counts] of [
      ['errors', errors],
      ['fallbacks', fallbacks],
    ] as const) {
      for (const [version, count] of Object.entries(counts)) {
        if (!Number.isInteger(count) || count < 0) {
          throw invalidRecord(`${field}.${version}: must be an integer >= 0, got ${String(count)}`);
        }
      }
    }
    const cap = this.#config.maxSamples;
    for (const p of predictions) {
      if (p.model !== undefined && p.model !== state.model) continue;
      if (p.fallback || (p.at !== undefined && p.at.getTime() < state.stepStartedAt)) continue;
      const window = windowOf(p.version);
      if (!window) continue;
      const salt = `${state.model}:${state.stepIndex}:${p.version}`;
      window.answered += 1;
      if (p.score !== undefined) offer(window.scores, p.score, cap, `${salt}:score`);
      if (p.latencyMs !== undefined) offer(window.latencies, p.latencyMs, cap, `${salt}:latency`);
      if (p.reference !== undefined && window === state.window.challenger) {
        window.references ??= emptyReservoir();
        offer(window.references, p.reference, cap, `${salt}:reference`);
      }
    }
    for (const [version, count] of Object.entries(errors)) {
      const window = windowOf(version);
      if (window) window.errors += count;
    }
    for (const [version, count] of Object.entries(fallbacks)) {
      const window = windowOf(version);
      if (window) window.fallbacks += count;
    }
  }

  /**
   * Judge the current step and apply the outcome to the server: a failed check rolls back
   * (champion 100 %); all checks passed with enough requests and time advances to the next
   * weight, or completes (challenger 100 %; shadow: champion alone, mirror off); otherwise
   * hold. The state is written after every decision. After complete or rollback it returns
   * the final decision again and changes nothing.
   */
  evaluate(now: number | Date): Promise<Decision> {
    return this.#serial(() => this.#evaluate(time(now)));
  }

  /**
   * End a running rollout without a failed check, e.g. because an operator moved the
   * champion alias by hand: routes the champion alone, records a `rollback` decision whose
   * reason is `aborted: <reason>`, and persists it. After complete or rollback it returns the
   * final decision again and changes nothing.
   */
  abort(reason: string, now: number | Date): Promise<Decision> {
    return this.#serial(async () => {
      const at = time(now);
      const state = this.#state;
      if (state === undefined) {
        throw new VigilError('VIGIL_KERNEL_NOT_STARTED', 'rollout abort: call start() or resume() first');
      }
      if (typeof reason !== 'string' || reason.trim() === '') {
        throw new VigilError('VIGIL_CONFIG_INVALID', 'rollout abort: reason must be a non-empty string');
      }
      if (state.status !== 'running') return structuredClone(state.last);
      const step = state.stepIndex + 1;
      state.status = 'rolled-back';
      await this.#server.route(state.model, routeForState(state));
      const decision = this.#decision(state, 'rollback', at, [], { step, reason: `aborted: ${reason}` });
      state.history.push(decision);
      state.last = decision;
      await writeState(this.#dir, state);
      this.#logger?.warn({ model: state.model, reason: decision.reason }, 'rollout aborted');
      return structuredClone(decision);
    });
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #start(model: string, champion: string, challenger: string, now: number): Promise<Decision> {
    for (const [field, value] of [
      ['model', model],
      ['champion', champion],
      ['challenger', challenger],
    ] as const) {
      if (typeof value !== 'string' || value === '') {
        throw new VigilError(
          'VIGIL_SERVER_INVALID_ROUTE',
          `rollout start: ${field} must be a non-empty string`,
        );
      }
    }
    if (champion === challenger) {
      throw new VigilError(
        'VIGIL_SERVER_INVALID_ROUTE',
        `rollout start: challenger must differ from champion (both '${champion}')`,
      );
    }
    if (this.#state !== undefined) {
      throw new VigilError(
        'VIGIL_REGISTRY_ALREADY_EXISTS',
        `rollout start: this controller already runs the rollout of '${this.#state.model}'; use a new controller`,
      );
    }
    const existing = await readState(this.#dir, model).catch(() => undefined);
    if (existing?.status === 'running') {
      throw new VigilError(
        'VIGIL_REGISTRY_ALREADY_EXISTS',
        `rollout start: model '${model}' already has a running rollout (${existing.champion} → ${existing.challenger}, step ${existing.stepIndex + 1}); resume it instead`,
      );
    }
    const state: RolloutState = {
      format: 1,
      model,
      champion,
      challenger,
      config: this.#config,
      status: 'running',
      startedAt: now,
      stepIndex: 0,
      stepStartedAt: now,
      window: { champion: emptyWindow(), challenger: emptyWindow() },
      history: [],
      last: undefined as unknown as Decision,
    };
    await this.#server.route(model, routeForState(state));
    const decision = this.#decision(state, 'start', now, [], {
      reason:
        this.#config.mode === 'shadow'
          ? `shadow: ${champion} serves, ${challenger} mirrored`
          : `step 1 (${this.#config.steps[0]} %): ${challenger} beside ${champion}`,
    });
    state.history.push(decision);
    state.last = decision;
    this.#state = state;
    await writeState(this.#dir, state);
    this.#logger?.info({ model, champion, challenger, mode: this.#config.mode }, 'rollout started');
    return structuredClone(decision);
  }

  async #evaluate(now: number): Promise<Decision> {
    const state = this.#state;
    if (state === undefined) {
      throw new VigilError('VIGIL_KERNEL_NOT_STARTED', 'rollout evaluate: call start() or resume() first');
    }
    if (state.status !== 'running') return structuredClone(state.last);
    const config = this.#config;
    const checks = await this.#checks(state);
    const step = state.stepIndex + 1;
    const stepWeight = weightOf(state);
    const failed = checks.find((c) => c.passed === false);
    let decision: Decision;
    if (failed) {
      const at = config.mode === 'shadow' ? 'in shadow' : `at step ${step} (${stepWeight} %)`;
      const comparison = failed.name === 'aurocDrop' ? 'AUROC drop' : failed.name;
      state.status = 'rolled-back';
      await this.#server.route(state.model, routeForState(state));
      decision = this.#decision(state, 'rollback', now, checks, {
        step,
        reason: `${comparison} ${round(failed.value!)} > ${failed.limit} ${at} (${failed.detail})`,
        failed: { check: failed.name, value: failed.value!, limit: failed.limit },
      });
      this.#logger?.warn({ model: state.model, reason: decision.reason }, 'rollout rolled back');
    } else {
      const waiting = this.#waiting(state, checks, now);
      if (waiting.length > 0) {
        decision = this.#decision(state, 'hold', now, checks, { reason: `waiting: ${waiting.join('; ')}` });
      } else {
        const passed = config.mode === 'shadow' ? 'shadow' : `step ${step} (${stepWeight} %)`;
        const next = state.stepIndex + 1;
        const completes =
          config.mode === 'shadow' || config.steps[next] === 100 || next >= config.steps.length;
        if (completes) {
          state.status = 'completed';
          if (config.mode === 'canary') state.stepIndex = config.steps.length - 1;
        } else {
          state.stepIndex = next;
        }
        state.stepStartedAt = now;
        state.window = { champion: emptyWindow(), challenger: emptyWindow() };
        await this.#server.route(state.model, routeForState(state));
        const action: RolloutAction = completes ? 'complete' : 'advance';
        decision = this.#decision(state, action, now, checks, {
          reason: completes
            ? config.mode === 'shadow'
              ? `shadow passed; ${state.champion} serves alone, ${state.challenger} may start a canary`
              : `${passed} passed; ${state.challenger} takes 100 %`
            : `${passed} passed; ${state.challenger} at ${weightOf(state)} %`,
        });
        this.#logger?.info(
          { model: state.model, action, step: decision.step, weight: decision.weight },
          `rollout ${action}`,
        );
      }
    }
    if (decision.action !== 'hold') state.history.push(decision);
    state.last = decision;
    await writeState(this.#dir, state);
    return structuredClone(decision);
  }

  #decision(
    state: RolloutState,
    action: RolloutAction,
    now: number,
    checks: CheckResult[],
    extra: { step?: number; reason?: string; failed?: Decision['failed'] } = {},
  ): Decision {
    return {
      action,
      step: extra.step ?? (state.config.mode === 'shadow' ? 1 : state.stepIndex + 1),
      weight: weightOf(state),
      at: new Date(now).toISOString(),
      ...(extra.reason === undefined ? {} : { reason: extra.reason }),
      ...(extra.failed === undefined ? {} : { failed: extra.failed }),
      checks,
    };
  }

  /** Why the step cannot pass yet (empty: it passes). */
  #waiting(state: RolloutState, checks: CheckResult[], now: number): string[] {
    const config = this.#config;
    const waiting: string[] = [];
    const requests = state.window.challenger.answered + state.window.challenger.errors;
    if (requests < config.minRequests) {
      waiting.push(`${requests}/${config.minRequests} challenger requests`);
    }
    if (config.minDurationMs !== undefined && now - state.stepStartedAt < config.minDurationMs) {
      waiting.push(`${now - state.stepStartedAt}/${config.minDurationMs} ms of the step`);
    }
    for (const check of checks) {
      if (check.passed !== null) continue;
      // the request count above already says why a rate check waits; AUROC waits only when required
      if (check.name === 'aurocDrop' ? !config.aurocRequired : requests < config.minRequests) continue;
      waiting.push(`${check.name}: ${check.detail}`);
    }
    return waiting;
  }

  async #checks(state: RolloutState): Promise<CheckResult[]> {
    const config = this.#config;
    const { champion, challenger } = state.window;
    const requests = challenger.answered + challenger.errors;
    const enough = requests >= config.minRequests;
    const checks: CheckResult[] = [];
    const rate = (name: CheckName, count: number, limit: number, what: string) => {
      const value = requests > 0 ? count / requests : null;
      checks.push({
        name,
        value,
        limit,
        passed: enough && value !== null ? value <= limit : null,
        detail: `${count} ${what} / ${requests} challenger requests${enough ? '' : ` (judged from ${config.minRequests})`}`,
      });
    };
    if (config.maxErrorRate !== null) rate('errorRate', challenger.errors, config.maxErrorRate, 'errors');
    if (config.maxFallbackRate !== undefined) {
      rate('fallbackRate', challenger.fallbacks, config.maxFallbackRate, 'fallback answers');
    }
    if (config.maxP99Ms !== undefined) {
      const value = nearestRankQuantile(challenger.latencies.values, 0.99);
      checks.push({
        name: 'p99Ms',
        value,
        limit: config.maxP99Ms,
        passed: enough && value !== null ? value <= config.maxP99Ms : null,
        detail:
          value === null
            ? 'no challenger latencies observed'
            : `p99 of ${challenger.latencies.values.length} of ${challenger.latencies.seen} challenger latencies`,
      });
    }
    if (config.maxScorePsi !== null) {
      const have = Math.min(champion.scores.seen, challenger.scores.seen);
      const value =
        champion.scores.values.length > 0 && challenger.scores.values.length > 0
          ? scorePsi(champion.scores.values, challenger.scores.values).psi
          : null;
      checks.push({
        name: 'scorePsi',
        value,
        limit: config.maxScorePsi,
        passed: value !== null && have >= config.minRequests ? value <= config.maxScorePsi : null,
        detail: `${challenger.scores.seen} challenger vs ${champion.scores.seen} champion scores this step${
          have >= config.minRequests ? '' : ` (judged from ${config.minRequests} each)`
        }`,
      });
    }
    if (config.maxSkewPsi !== undefined) {
      const references = challenger.references ?? emptyReservoir();
      const have = Math.min(references.seen, challenger.scores.seen);
      const value =
        references.values.length > 0 && challenger.scores.values.length > 0
          ? scorePsi(references.values, challenger.scores.values).psi
          : null;
      checks.push({
        name: 'skewPsi',
        value,
        limit: config.maxSkewPsi,
        passed: value !== null && have >= config.minRequests ? value <= config.maxSkewPsi : null,
        detail: `${challenger.scores.seen} served challenger scores vs ${references.seen} of its training-pipeline scores this step${
          have >= config.minRequests ? '' : ` (judged from ${config.minRequests} each)`
        }`,
      });
    }
    if (config.maxAurocDrop !== undefined) checks.push(await this.#aurocCheck(state, config.maxAurocDrop));
    return checks;
  }

  async #aurocCheck(state: RolloutState, limit: number): Promise<CheckResult> {
    const source = this.#outcomes!;
    const evaluate = typeof source === 'function' ? source : (r: EvaluateRequest) => source.evaluate(r);
    const since = new Date(state.startedAt);
    const [champ, chall] = await Promise.all([
      evaluate({ model: state.model, version: state.champion, since }),
      evaluate({ model: state.model, version: state.challenger, since }),
    ]);
    const minLabels = this.#config.minLabels;
    const value = champ.auroc !== null && chall.auroc !== null ? champ.auroc - chall.auroc : null;
    const labelled = champ.labelled >= minLabels && chall.labelled >= minLabels;
    const aurocs = `champion AUROC ${champ.auroc === null ? 'n/a' : round(champ.auroc)} on ${champ.labelled} labels, challenger ${
      chall.auroc === null ? 'n/a' : round(chall.auroc)
    } on ${chall.labelled}`;
    return {
      name: 'aurocDrop',
      value,
      limit,
      passed: labelled && value !== null ? value <= limit : null,
      detail: labelled ? aurocs : `${aurocs} (judged from ${minLabels} labels each)`,
    };
  }
}
