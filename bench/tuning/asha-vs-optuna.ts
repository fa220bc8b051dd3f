/**
 * Tuning benchmark: our ASHA (TPE or random sampler) against Optuna's TPESampler, tuning the
 * SAME objective — our GBT (in-process node trainer) scored by the mean AUROC over the same
 * patient-grouped inner folds (the FoldScorer the `tune` step uses), the same search space
 * (job.tune's default GBT space over the job's default GBT params), the same 50 new
 * configurations. Optuna drives an ask/tell loop and sends each trial's params as a JSON line
 * to a Node child that trains and scores (objective-server.ts); every Optuna trial runs at the
 * full resource (400 boosting rounds, early stopping on validation patients as always), ours
 * early-stop over rungs 25 → 75 → 225 → 400. Best AUROC = the best mean inner-fold AUROC at
 * 400 rounds. Wall time = the study loop alone (data loading and process start excluded on
 * both sides). Needs the pinned Optuna venv (created on first use under ~/.cache/vigil/venvs).
 *
 *   node --conditions=@vigil/source --import tsx bench/tuning/asha-vs-optuna.ts \
 *     [--patients 1000] [--days 90] [--seed 42] [--sampler-seed 42] [--trials 50] [--variants optuna,asha-tpe,...]
 *
 * Variants: optuna; asha-tpe, asha-random, hyperband-tpe (concurrency 1, in-process, as the
 * `tune` step runs them); asha-tpe-c2 (concurrency 2 through the same in-process trainer: the
 * async pool the step uses); asha-tpe-threads2 (concurrency 2, each evaluation in one of 2
 * worker threads with its own node trainer). asha-tpe-c2 and asha-tpe-threads2 make the same
 * decisions (the study's virtual clock), so their results must be equal: checked.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { NodeTrainer } from '@vigil/adapter-node-trainer';
import { DEFAULT_GBT_PARAMS } from '@vigil/job-adverse-events';
import { FoldScorer } from '../../jobs/adverse-events/src/tuning/fold-scorer.js';
import { RungScheduler, type SchedulerKind } from '../../jobs/adverse-events/src/tuning/rung-scheduler.js';
import { randomSampler, tpeSampler } from '../../jobs/adverse-events/src/tuning/samplers.js';
import type { Params } from '../../jobs/adverse-events/src/tuning/search-space.js';
import { runStudy, type StudyResult } from '../../jobs/adverse-events/src/tuning/study.js';
import { TUNING_DEFAULTS, tuneConfigSchema } from '../../jobs/adverse-events/src/tuning/tune-config.js';
import { threadPool } from './thread-pool.js';
import { buildTuningData, writeTuningData } from './tuning-data.js';

const run = promisify(execFile);
const OPTUNA_VERSION = '5.0.0';
const NUMPY_VERSION = '2.4.6';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    seed: { type: 'string', default: '42' },
    // the samplers' seed (Optuna's TPESampler and ours); the data and folds keep --seed
    'sampler-seed': { type: 'string' },
    trials: { type: 'string', default: '50' },
    folds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'optuna,asha-tpe,asha-random,asha-tpe-threads2,asha-tpe-c2' },
  },
});
const seed = Number(args.seed);
const samplerSeed = Number(args['sampler-seed'] ?? args.seed);
const trials = Number(args.trials);
const variants = args.variants!.split(',');

// the tune step's defaults: space, rungs, TPE settings
const tune = tuneConfigSchema.parse({ trials });
const space = TUNING_DEFAULTS.gbt!.space;
const resource = {
  min: TUNING_DEFAULTS.gbt!.resource.min,
  max: TUNING_DEFAULTS.gbt!.resource.max,
  eta: tune.resource.eta,
};
const base: Params = { ...DEFAULT_GBT_PARAMS };

const venv = join(process.env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil'), 'venvs', 'optuna');
const python = join(venv, 'bin', 'python');

/** The pinned Optuna venv, created once (a lock folder guards concurrent creation). */
async function ensureOptuna(): Promise<void> {
  const ready = () =>
    existsSync(python) &&
    run(python, ['-c', `import optuna; assert optuna.__version__ == '${OPTUNA_VERSION}'`]).then(
      () => true,
      () => false,
    );
  if (await ready()) return;
  const lock = `${venv}.lock`;
  await mkdir(join(venv, '..'), { recursive: true });
  for (const deadline = Date.now() + 600_000; ; ) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`optuna venv: ${lock} held for 10 min; remove it if stale`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (await ready()) return;
    if (!existsSync(python)) await run('python3', ['-m', 'venv', venv]);
    await run(
      join(venv, 'bin', 'pip'),
      ['install', '--quiet', `optuna==${OPTUNA_VERSION}`, `numpy==${NUMPY_VERSION}`],
      {
        timeout: 540_000,
      },
    );
    if (!(await ready())) throw new Error(`optuna==${OPTUNA_VERSION} did not import from ${venv}`);
  } finally {
    await rmdir(lock);
  }
}

interface Outcome {
  name: string;
  best: number;
  bestTrial: number;
  bestParams: Params;
  wall: number;
  /** Evaluations run, and boosting-round budget spent (Σ resource over evaluations). */
  jobs: number;
  rounds: number;
}

const nodeArgs = ['--conditions=@vigil/source', '--import', 'tsx'];
const here = fileURLToPath(new URL('.', import.meta.url));

async function optuna(dir: string): Promise<Outcome> {
  const config = join(dir, 'optuna.json');
  await writeFile(
    config,
    JSON.stringify({
      node: [process.execPath, ...nodeArgs, join(here, 'objective-server.ts'), dir, String(seed)],
      space,
      base,
      resourceParam: 'nEstimators',
      resource: resource.max,
      seed: samplerSeed,
      trials,
    }),
  );
  const { stdout } = await run(python, [join(here, 'optuna-driver.py'), config], { maxBuffer: 16 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    optuna: string;
    wall: number;
    best: number;
    bestTrial: number;
    bestParams: Params;
  };
  return {
    name: `optuna ${r.optuna} TPESampler`,
    best: r.best,
    bestTrial: r.bestTrial,
    bestParams: r.bestParams,
    wall: r.wall,
    jobs: trials,
    rounds: trials * resource.max,
  };
}

async function ours(
  name: string,
  data: Awaited<ReturnType<typeof buildTuningData>>,
  dir: string,
  o: { sampler: 'tpe' | 'random'; scheduler: SchedulerKind; concurrency: number; threads: boolean },
): Promise<Outcome & { result: StudyResult }> {
  const pool = o.threads ? await threadPool(dir, seed, o.concurrency) : undefined;
  const scorer = new FoldScorer(new NodeTrainer(), data.set, data.folds, { algorithm: 'gbt', seed });
  try {
    const began = performance.now();
    const result = await runStudy({
      sampler:
        o.sampler === 'tpe' ? tpeSampler(space, samplerSeed, tune.tpe) : randomSampler(space, samplerSeed),
      scheduler: new RungScheduler(o.scheduler, trials, resource),
      base,
      resourceParam: 'nEstimators',
      concurrency: o.concurrency,
      evaluate: (job) => (pool ? pool.evaluate(job.params) : scorer.score(job.params)),
    });
    const wall = (performance.now() - began) / 1000;
    return {
      name,
      best: result.best.value!,
      bestTrial: result.best.trial,
      bestParams: result.best.params,
      wall,
      jobs: result.jobs,
      rounds: result.trials.flatMap((t) => t.rungs).reduce((a, r) => a + r.resource, 0),
      result,
    };
  } finally {
    await pool?.close();
  }
}

const VARIANTS: Record<string, Parameters<typeof ours>[3]> = {
  'asha-tpe': { sampler: 'tpe', scheduler: 'asha', concurrency: 1, threads: false },
  'asha-random': { sampler: 'random', scheduler: 'asha', concurrency: 1, threads: false },
  'hyperband-tpe': { sampler: 'tpe', scheduler: 'hyperband', concurrency: 1, threads: false },
  'asha-tpe-c2': { sampler: 'tpe', scheduler: 'asha', concurrency: 2, threads: false },
  'asha-tpe-threads2': { sampler: 'tpe', scheduler: 'asha', concurrency: 2, threads: true },
};
for (const v of variants)
  if (v !== 'optuna' && !VARIANTS[v])
    throw new Error(`unknown variant '${v}'; known: optuna, ${Object.keys(VARIANTS).join(', ')}`);

if (variants.includes('optuna')) await ensureOptuna();
const built = performance.now();
const data = await buildTuningData({
  patients: Number(args.patients),
  days: Number(args.days),
  seed,
  folds: Number(args.folds),
});
const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-tuning-'));
await writeTuningData(dir, data);
console.log(
  `tuning benchmark: ${trials} configurations, GBT on ${data.set.y.length} rows × ${data.set.featureNames.length} features of ${data.patients} non-test patients (${data.positives} positive rows; trial ${args.patients} patients × ${args.days} days, seed ${seed}; samplers' seed ${samplerSeed}), ${data.folds.length} patient-grouped folds; data ready in ${((performance.now() - built) / 1000).toFixed(1)} s`,
);
console.log(
  `  space: ${Object.keys(space).join(', ')} over ${JSON.stringify(base)}; rungs ${new RungScheduler('asha', trials, resource).resources.join(' → ')} rounds (eta ${resource.eta}); machine: ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

const outcomes: Outcome[] = [];
const results = new Map<string, StudyResult>();
try {
  for (const v of variants) {
    const load = loadavg()[0]!.toFixed(1);
    const o = v === 'optuna' ? await optuna(dir) : await ours(v, data, dir, VARIANTS[v]!);
    if ('result' in o) results.set(v, o.result as StudyResult);
    outcomes.push(o);
    console.log(
      `  ${o.name.padEnd(26)} best AUROC ${o.best.toFixed(4)} (trial ${o.bestTrial})  wall ${o.wall.toFixed(1).padStart(6)} s  evaluations ${String(o.jobs).padStart(3)}  rounds ${o.rounds}  load ${load}→${loadavg()[0]!.toFixed(1)}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const peer = outcomes.find((o) => o.name.startsWith('optuna'));
if (peer) {
  console.log(`  against ${peer.name} (target: best within 0.005 at ≤ its wall time):`);
  for (const o of outcomes.filter((x) => x !== peer)) {
    const delta = o.best - peer.best;
    const ok = delta >= -0.005 && o.wall <= peer.wall;
    console.log(
      `    ${o.name.padEnd(26)} Δbest ${delta >= 0 ? '+' : ''}${delta.toFixed(4)}  wall ${(o.wall / peer.wall).toFixed(2)}×  ${ok ? 'target met' : 'target missed'}`,
    );
  }
}
for (const o of outcomes) console.log(`  best params ${o.name}: ${JSON.stringify(o.bestParams)}`);
const c2 = results.get('asha-tpe-c2');
const t2 = results.get('asha-tpe-threads2');
if (c2 && t2) {
  const same = JSON.stringify(c2) === JSON.stringify(t2);
  console.log(
    `  determinism: asha-tpe-c2 (async pool, in-process) and asha-tpe-threads2 (2 worker threads) ${same ? 'made the same decisions and found the same best' : 'DIFFER'}`,
  );
  if (!same) process.exitCode = 1;
}
