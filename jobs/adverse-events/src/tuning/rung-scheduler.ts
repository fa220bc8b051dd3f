/**
 * Early-stopping schedulers over a resource (boosting rounds, epochs): which trial runs
 * next, at which rung. Pure state machines: the study asks `next()` for a decision and
 * reports each finished job with `report()`; given the same sequence of reports they make
 * the same decisions.
 */

export type SchedulerKind = 'none' | 'halving' | 'asha' | 'hyperband';

export interface ResourceRange {
  /** Resource of the first rung. */
  min: number;
  /** Resource of the last rung. */
  max: number;
  /** Keep the best 1/eta at each rung; grow the resource eta×. */
  eta: number;
}

/** Rung resources: min·eta^k while below max, then max (max alone when min ≥ max). */
export function rungResources(r: ResourceRange): number[] {
  const out: number[] = [];
  for (let v = r.min; v < r.max; v *= r.eta) out.push(v);
  out.push(r.max);
  return out;
}

export type Decision =
  /** Start trial `trial` (numbered from 0 in start order) in `bracket`, at `rung`. */
  | { kind: 'new'; trial: number; bracket: number; rung: number }
  /** Run trial `trial` again at `rung` (one above the rung it finished). */
  | { kind: 'promote'; trial: number; bracket: number; rung: number };

interface TrialState {
  trial: number;
  bracket: number;
  /** Highest rung started. */
  rung: number;
  running: boolean;
  /** Score per finished rung (null: the metric was undefined, ranks last). */
  values: Map<number, number | null>;
}

const score = (v: number | null | undefined) =>
  v === null || v === undefined ? Number.NEGATIVE_INFINITY : v;

/**
 * - `none`: every trial once, at the last rung (full resource).
 * - `halving`: synchronous successive halving — every trial at rung 0, then, once all of a
 *   rung has finished, the best ⌊n/eta⌋ (at least 1) go up a rung, until the last.
 * - `asha`: asynchronous successive halving (Li et al., 2018) — whenever a worker is free, the
 *   highest rung with a trial in the top ⌊n/eta⌋ of that rung's finished trials that was not yet
 *   promoted gives it the next rung; otherwise a new trial starts at rung 0 while the budget
 *   lasts. Promotions are looked for from the top rung down.
 * - `hyperband`: brackets b = 0…K of ASHA, bracket b starting at rung b (b = K: no early
 *   stopping), trials dealt to brackets in proportion to Hyperband's n_b =
 *   ⌈(K+1)/(K−b+1)·eta^(K−b)⌉ (smooth weighted round robin), promotions within a bracket.
 *
 * When the budget is spent, nothing is running and no trial has reached the last rung (too
 * few trials for a promotion), the best trial of the highest rung reached is promoted, so
 * the winner is always measured at full resource.
 */
export class RungScheduler {
  readonly kind: SchedulerKind;
  readonly budget: number;
  readonly eta: number;
  /** Resource of each rung. */
  readonly resources: readonly number[];
  /** First rung of each bracket. */
  readonly brackets: readonly number[];
  readonly #weights: number[];
  readonly #current: number[];
  readonly #trials: TrialState[] = [];

  constructor(kind: SchedulerKind, budget: number, resource: ResourceRange) {
    this.kind = kind;
    this.budget = budget;
    this.eta = resource.eta;
    this.resources = kind === 'none' ? [resource.max] : rungResources(resource);
    const top = this.resources.length - 1;
    this.brackets = kind === 'hyperband' ? Array.from({ length: top + 1 }, (_, b) => b) : [0];
    this.#weights = this.brackets.map((b) => Math.ceil(((top + 1) / (top - b + 1)) * this.eta ** (top - b)));
    this.#current = this.brackets.map(() => 0);
  }

  get top(): number {
    return this.resources.length - 1;
  }

  /** Trials started so far. */
  get started(): number {
    return this.#trials.length;
  }

  /** Is any job running (started, not reported)? */
  get running(): boolean {
    return this.#trials.some((t) => t.running);
  }

  /** The next job, or null when none can start now (wait for a report, or the study is done). */
  next(): Decision | null {
    const d =
      this.kind === 'halving'
        ? this.#nextHalving()
        : this.kind === 'none'
          ? this.#newTrial()
          : this.#nextAsha();
    if (d) return d;
    return this.running ? null : this.#finishing();
  }

  /** A job finished: `value` is the trial's score at `rung`. */
  report(trial: number, rung: number, value: number | null): void {
    const t = this.#trials[trial];
    if (!t?.running || t.rung !== rung)
      throw new Error(`rung scheduler: trial ${trial} is not running at rung ${rung}`);
    t.running = false;
    t.values.set(rung, value);
  }

  /** Trials in start order: bracket, highest rung finished, and the score at each rung. */
  trials(): { trial: number; bracket: number; values: { rung: number; value: number | null }[] }[] {
    return this.#trials.map((t) => ({
      trial: t.trial,
      bracket: t.bracket,
      values: [...t.values].sort(([a], [b]) => a - b).map(([rung, value]) => ({ rung, value })),
    }));
  }

  /** Rough count of jobs the study will run (for progress). */
  estimatedJobs(): number {
    if (this.kind === 'none') return this.budget;
    const total = this.#weights.reduce((a, b) => a + b, 0);
    let jobs = 0;
    this.brackets.forEach((b, i) => {
      let n = (this.budget * this.#weights[i]!) / total;
      for (let k = b; k <= this.top; k++) {
        jobs += Math.max(1, Math.floor(n));
        n /= this.eta;
      }
    });
    return Math.max(this.budget, Math.round(jobs));
  }

  #newTrial(): Decision | null {
    if (this.#trials.length >= this.budget) return null;
    // smooth weighted round robin over the brackets (one bracket unless hyperband)
    let pick = 0;
    const total = this.#weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < this.#weights.length; i++) {
      this.#current[i]! += this.#weights[i]!;
      if (this.#current[i]! > this.#current[pick]!) pick = i;
    }
    this.#current[pick]! -= total;
    const bracket = pick;
    const rung = this.kind === 'none' ? 0 : this.brackets[bracket]!;
    const trial = this.#trials.length;
    this.#trials.push({ trial, bracket, rung, running: true, values: new Map() });
    return { kind: 'new', trial, bracket, rung };
  }

  #promote(t: TrialState): Decision {
    t.rung += 1;
    t.running = true;
    return { kind: 'promote', trial: t.trial, bracket: t.bracket, rung: t.rung };
  }

  /** Trials of `bracket` finished at `rung`, best first (ties: lower trial number). */
  #ranked(bracket: number | undefined, rung: number): TrialState[] {
    return this.#trials
      .filter((t) => (bracket === undefined || t.bracket === bracket) && t.values.has(rung))
      .sort((a, b) => score(b.values.get(rung)) - score(a.values.get(rung)) || a.trial - b.trial);
  }

  #nextAsha(): Decision | null {
    for (let k = this.top - 1; k >= 0; k--) {
      for (let b = 0; b < this.brackets.length; b++) {
        if (this.brackets[b]! > k) continue;
        const done = this.#ranked(b, k);
        const keep = Math.floor(done.length / this.eta);
        const candidate = done.slice(0, keep).find((t) => t.rung === k && !t.running);
        if (candidate) return this.#promote(candidate);
      }
    }
    return this.#newTrial();
  }

  #nextHalving(): Decision | null {
    const fresh = this.#newTrial();
    if (fresh) return fresh;
    let keep = this.budget;
    for (let k = 0; k < this.top; k++) {
      const started = this.#trials.filter((t) => t.rung >= k);
      if (started.some((t) => t.rung === k && t.running)) return null;
      keep = Math.max(1, Math.floor(keep / this.eta));
      const promoted = started.filter((t) => t.rung > k).length;
      if (promoted < keep) {
        const candidate = this.#ranked(undefined, k).find((t) => t.rung === k);
        return candidate ? this.#promote(candidate) : null;
      }
    }
    return null;
  }

  #finishing(): Decision | null {
    if (this.#trials.length < this.budget) return null;
    if (this.#trials.some((t) => t.values.has(this.top))) return null;
    for (let k = this.top - 1; k >= 0; k--) {
      const best = this.#ranked(undefined, k).find((t) => t.rung === k);
      if (best) return this.#promote(best);
    }
    return null;
  }
}
