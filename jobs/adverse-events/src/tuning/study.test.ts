import { describe, expect, it } from 'vitest';
import { RungScheduler, type SchedulerKind } from './rung-scheduler.js';
import { randomSampler, tpeSampler } from './samplers.js';
import { paramRangeSchema } from './search-space.js';
import { runStudy, type TrialJob } from './study.js';

const space = {
  learningRate: paramRangeSchema.parse({ low: 0.01, high: 0.3, log: true }),
  maxDepth: paramRangeSchema.parse({ low: 2, high: 6, integer: true }),
};

/** A score that improves with the resource and peaks at lr 0.06, depth 4. */
const score = (job: TrialJob) => {
  const lr = Math.log(job.params.learningRate as number) - Math.log(0.06);
  const d = ((job.params.maxDepth as number) - 4) / 3;
  return 0.9 - 0.05 * lr * lr - 0.05 * d * d - 2 / job.resource;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function study(
  scheduler: SchedulerKind,
  concurrency: number,
  jitter: () => number,
  sampler: 'tpe' | 'random' = 'tpe',
) {
  let inFlight = 0;
  let maxInFlight = 0;
  const order: string[] = [];
  const result = await runStudy({
    sampler: sampler === 'tpe' ? tpeSampler(space, 9, { startupTrials: 5 }) : randomSampler(space, 9),
    scheduler: new RungScheduler(scheduler, 30, { min: 4, max: 108, eta: 3 }),
    base: { subsample: 0.8 },
    resourceParam: 'nEstimators',
    concurrency,
    evaluate: async (job) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(jitter());
      inFlight--;
      return score(job);
    },
    onStart: (job) => {
      order.push(`start ${job.trial}@${job.rung}`);
    },
    onResult: (job, v) => {
      order.push(`result ${job.trial}@${job.rung}=${v}`);
    },
  });
  return { result, order, maxInFlight };
}

describe('runStudy', () => {
  it('runs ASHA with a TPE sampler: params merged over base, the resource written, the best at the last rung', async () => {
    const { result } = await study('asha', 1, () => 0);
    expect(result.trials).toHaveLength(30);
    expect(result.best.resource).toBe(108);
    expect(result.best.params.subsample).toBe(0.8);
    expect(result.best.params.nEstimators).toBe(108);
    const atTop = result.trials.filter((t) => t.rungs.at(-1)?.resource === 108);
    const bestAtTop = Math.max(...atTop.map((t) => t.rungs.at(-1)!.value!));
    expect(result.best.value).toBe(bestAtTop);
    // early stopping spent less than running every trial at the full resource
    const spent = result.trials.flatMap((t) => t.rungs).reduce((a, r) => a + r.resource, 0);
    expect(spent).toBeLessThan(30 * 108 * 0.35);
  });

  it.each(['asha', 'hyperband', 'halving', 'none'] as const)(
    '%s with concurrency 3: every decision and the best are the same whatever the real job times',
    async (scheduler) => {
      const a = await study(scheduler, 3, () => Math.random() * 8);
      const b = await study(scheduler, 3, () => Math.random() * 8);
      const c = await study(scheduler, 3, () => 0);
      expect(b.order).toEqual(a.order);
      expect(c.order).toEqual(a.order);
      expect(b.result).toEqual(a.result);
      expect(a.maxInFlight).toBeLessThanOrEqual(3);
    },
  );

  it('keeps `concurrency` evaluations in flight and never more', async () => {
    const { maxInFlight } = await study('none', 4, () => 5, 'random');
    expect(maxInFlight).toBe(4);
    const sequential = await study('asha', 1, () => 1);
    expect(sequential.maxInFlight).toBe(1);
  });

  it('fails with the evaluation’s error after the jobs in flight have settled', async () => {
    let settled = 0;
    const failing = runStudy({
      sampler: randomSampler(space, 1),
      scheduler: new RungScheduler('asha', 10, { min: 1, max: 9, eta: 3 }),
      base: {},
      resourceParam: 'nEstimators',
      concurrency: 3,
      evaluate: async (job) => {
        await sleep(job.trial === 1 ? 1 : 10);
        settled++;
        if (job.trial === 1) throw new Error('trainer broke');
        return 0.5;
      },
    });
    await expect(failing).rejects.toThrow('trainer broke');
    expect(settled).toBe(3);
  });

  it('stops on abort', async () => {
    const controller = new AbortController();
    const run = runStudy({
      sampler: randomSampler(space, 1),
      scheduler: new RungScheduler('asha', 50, { min: 1, max: 9, eta: 3 }),
      base: {},
      resourceParam: 'nEstimators',
      concurrency: 2,
      signal: controller.signal,
      evaluate: async (job) => {
        if (job.trial === 4) controller.abort();
        return 0.5;
      },
    });
    await expect(run).rejects.toThrow();
  });
});
