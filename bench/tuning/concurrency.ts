/**
 * What `job.tune.concurrency` buys on this machine: the same study — random sampler, no early
 * stopping, so the trials do not depend on the order results arrive in — run with 1 and 2
 * evaluations in flight through one in-process node trainer (the async pool the `tune` step
 * uses) and with 1, 2 and 4 worker threads, each with its own node trainer. Every mode must
 * give the same study (checked); the wall times are compared. Rounds alternate the order of
 * the modes; medians are reported.
 *
 *   node --conditions=@vigil/source --import tsx bench/tuning/concurrency.ts \
 *     [--patients 1000] [--days 90] [--seed 42] [--trials 8] [--resource 150] [--rounds 2] [--modes c1,c2,t1,t2,t4]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NodeTrainer } from '@vigil/adapter-node-trainer';
import { DEFAULT_GBT_PARAMS } from '@vigil/job-adverse-events';
import { FoldScorer } from '../../jobs/adverse-events/src/tuning/fold-scorer.js';
import { RungScheduler } from '../../jobs/adverse-events/src/tuning/rung-scheduler.js';
import { randomSampler } from '../../jobs/adverse-events/src/tuning/samplers.js';
import { runStudy } from '../../jobs/adverse-events/src/tuning/study.js';
import { TUNING_DEFAULTS } from '../../jobs/adverse-events/src/tuning/tune-config.js';
import { threadPool } from './thread-pool.js';
import { buildTuningData, writeTuningData } from './tuning-data.js';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    seed: { type: 'string', default: '42' },
    trials: { type: 'string', default: '8' },
    resource: { type: 'string', default: '150' },
    rounds: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'c1,c2,t1,t2,t4' },
  },
});
const seed = Number(args.seed);
const trials = Number(args.trials);
const rounds = Number(args.rounds);
const modes = args.modes!.split(',');
const space = TUNING_DEFAULTS.gbt!.space;
const max = Number(args.resource);

const data = await buildTuningData({
  patients: Number(args.patients),
  days: Number(args.days),
  seed,
  folds: 3,
});
const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-tuning-concurrency-'));
await writeTuningData(dir, data);

async function study(mode: string) {
  const threads = mode.startsWith('t');
  const concurrency = Number(mode.slice(1));
  const pool = threads ? await threadPool(dir, seed, concurrency) : undefined;
  const scorer = new FoldScorer(new NodeTrainer(), data.set, data.folds, { algorithm: 'gbt', seed });
  try {
    const began = performance.now();
    const result = await runStudy({
      sampler: randomSampler(space, seed),
      scheduler: new RungScheduler('none', trials, { min: max, max, eta: 3 }),
      base: { ...DEFAULT_GBT_PARAMS },
      resourceParam: 'nEstimators',
      concurrency,
      evaluate: (job) => (pool ? pool.evaluate(job.params) : scorer.score(job.params)),
    });
    return { wall: (performance.now() - began) / 1000, result: JSON.stringify(result) };
  } finally {
    await pool?.close();
  }
}

const label: Record<string, string> = {
  c1: 'in-process, concurrency 1',
  c2: 'in-process, concurrency 2',
  t1: '1 worker thread',
  t2: '2 worker threads',
  t4: '4 worker threads',
};
console.log(
  `tune concurrency: ${trials} random configurations × 3 grouped folds at ${max} rounds (early stopping on), GBT on ${data.set.y.length} rows × ${data.set.featureNames.length} features; ${cpus().length} cores; ${rounds} rounds, order alternated, medians`,
);
const walls = new Map<string, number[]>();
const results = new Set<string>();
try {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? modes : [...modes].reverse();
    const line: string[] = [];
    for (const m of order) {
      const load = loadavg()[0]!.toFixed(1);
      const { wall, result } = await study(m);
      results.add(result);
      walls.set(m, [...(walls.get(m) ?? []), wall]);
      line.push(`${m} ${wall.toFixed(1)} s (load ${load})`);
    }
    console.log(`  round ${r + 1}: ${line.join(', ')}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const base = median(walls.get(modes[0]!)!);
for (const m of modes) {
  const w = median(walls.get(m)!);
  console.log(
    `  ${(label[m] ?? m).padEnd(27)} ${w.toFixed(1).padStart(6)} s  speed-up vs ${modes[0]} ${(base / w).toFixed(2)}×`,
  );
}
console.log(`  same study in every mode and round: ${results.size === 1 ? 'yes' : 'NO'}`);
if (results.size !== 1) process.exitCode = 1;
