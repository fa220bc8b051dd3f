import type { RungScheduler } from './rung-scheduler.js';
import type { Observation, Sampler } from './samplers.js';
import type { Params } from './search-space.js';

/** One evaluation: a trial's params at one rung's resource. */
export interface TrialJob {
  trial: number;
  bracket: number;
  rung: number;
  /** The rung's resource (what `resourceParam` is set to). */
  resource: number;
  /** What the trainer gets: base params, the sampled ones, and the resource. */
  params: Params;
  /** The sampled params alone (what the sampler proposed). */
  sampled: Params;
}

export interface StudyTrial {
  trial: number;
  bracket: number;
  sampled: Params;
  /** Score at each rung the trial finished, lowest rung first. */
  rungs: { rung: number; resource: number; value: number | null }[];
}

export interface StudyResult {
  trials: StudyTrial[];
  /** The best trial at the last rung: full params (base, sampled, resource) and its score. */
  best: { trial: number; params: Params; resource: number; value: number | null };
  /** Evaluations run (a promoted trial counts once per rung). */
  jobs: number;
}

export interface StudyOptions {
  sampler: Sampler;
  scheduler: RungScheduler;
  /** Params every trial starts from (the sampled ones are merged over them). */
  base: Params;
  /** Parameter the rung's resource is written to (e.g. nEstimators, maxEpochs); none: params as sampled. */
  resourceParam?: string | undefined;
  /** Evaluations in flight at once. */
  concurrency: number;
  /** Score a job (higher is better; null = undefined, ranks last). */
  evaluate(job: TrialJob): Promise<number | null>;
  /** Called in decision order when a job is issued (before it runs). */
  onStart?(job: TrialJob): Promise<void> | void;
  /** Called in decision order when a job's result is taken into account. */
  onResult?(job: TrialJob, value: number | null): Promise<void> | void;
  signal?: AbortSignal;
}

const withResource = (params: Params, param: string | undefined, resource: number): Params =>
  param === undefined ? params : { ...params, [param]: resource };

type Settled = { ok: true; value: number | null } | { ok: false; error: unknown };
interface InFlight {
  job: TrialJob;
  /** Virtual time at which the job counts as finished. */
  end: number;
  seq: number;
  settled: Promise<Settled>;
}

/**
 * Runs a study: the scheduler decides which trial runs at which rung, the sampler proposes
 * the params of new trials, and up to `concurrency` evaluations run at once.
 *
 * Deterministic under concurrency. Decisions follow a virtual clock: `concurrency` virtual
 * workers, a job at resource r occupying its worker for r time units. A free worker (the
 * one free earliest, lowest index on ties) decides its next job only after every job that
 * ends no later on the virtual clock has been taken into account — waiting for it for real
 * if need be — and results are taken into account in virtual-end order (ties: issue order).
 * So what each decision sees, and hence every decision, sampled params, and the best trial,
 * depends only on the seed, the config and the scores, never on how long a job really took;
 * only the wall time does. With concurrency 1 it is plain sequential ASHA. When real job
 * times are proportional to the resource (boosting rounds without early stopping) no worker
 * waits; otherwise a free slot may wait for a virtually earlier job.
 */
export async function runStudy(o: StudyOptions): Promise<StudyResult> {
  const concurrency = Math.max(1, Math.floor(o.concurrency));
  const free = Array.from({ length: concurrency }, () => 0);
  const sampled = new Map<number, Params>();
  const latest = new Map<number, Observation>();
  let inFlight: InFlight[] = [];
  let seq = 0;
  let jobs = 0;

  const drain = async () => {
    await Promise.all(inFlight.map((f) => f.settled));
    inFlight = [];
  };

  for (;;) {
    let w = 0;
    for (let i = 1; i < concurrency; i++) if (free[i]! < free[w]!) w = i;
    const now = free[w]!;
    inFlight.sort((a, b) => a.end - b.end || a.seq - b.seq);
    while (inFlight.length > 0 && inFlight[0]!.end <= now) {
      const f = inFlight.shift()!;
      const r = await f.settled;
      if (!r.ok) {
        await drain();
        throw r.error;
      }
      o.scheduler.report(f.job.trial, f.job.rung, r.value);
      latest.set(f.job.trial, {
        trial: f.job.trial,
        params: f.job.sampled,
        rung: f.job.rung,
        value: r.value,
      });
      await o.onResult?.(f.job, r.value);
    }
    if (o.signal?.aborted) {
      await drain();
      o.signal.throwIfAborted();
    }
    const d = o.scheduler.next();
    if (!d) {
      if (inFlight.length === 0) break;
      free[w] = inFlight[0]!.end;
      continue;
    }
    if (d.kind === 'new') {
      const history = [...latest.values()].sort((a, b) => a.trial - b.trial);
      sampled.set(d.trial, o.sampler.suggest(d.trial, history));
    }
    const params = sampled.get(d.trial)!;
    const resource = o.scheduler.resources[d.rung]!;
    const job: TrialJob = {
      trial: d.trial,
      bracket: d.bracket,
      rung: d.rung,
      resource,
      params: withResource({ ...o.base, ...params }, o.resourceParam, resource),
      sampled: params,
    };
    try {
      await o.onStart?.(job);
    } catch (error) {
      await drain();
      throw error;
    }
    const settled = Promise.resolve()
      .then(() => o.evaluate(job))
      .then(
        (value): Settled => ({ ok: true, value }),
        (error: unknown): Settled => ({ ok: false, error }),
      );
    free[w] = now + Math.max(1e-9, resource);
    inFlight.push({ job, end: free[w]!, seq: seq++, settled });
    jobs++;
  }

  const trials: StudyTrial[] = o.scheduler.trials().map((t) => ({
    trial: t.trial,
    bracket: t.bracket,
    sampled: sampled.get(t.trial)!,
    rungs: t.values.map((v) => ({ rung: v.rung, resource: o.scheduler.resources[v.rung]!, value: v.value })),
  }));
  if (trials.length === 0) throw new Error('study: no trial ran (budget 0)');
  // the best at the highest rung any trial finished (the last rung, unless the study was cut short)
  const ranked = trials
    .map((t) => ({ t, last: t.rungs.at(-1)! }))
    .filter((x) => x.last !== undefined)
    .sort(
      (a, b) =>
        b.last.rung - a.last.rung ||
        (b.last.value ?? Number.NEGATIVE_INFINITY) - (a.last.value ?? Number.NEGATIVE_INFINITY) ||
        a.t.trial - b.t.trial,
    );
  const top = ranked[0]!;
  return {
    trials,
    best: {
      trial: top.t.trial,
      params: withResource({ ...o.base, ...top.t.sampled }, o.resourceParam, top.last.resource),
      resource: top.last.resource,
      value: top.last.value,
    },
    jobs,
  };
}
