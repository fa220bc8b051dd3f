/**
 * Cached rerun: `vigil run` on a fresh workdir (cold: every step runs) against the same
 * command run again on that workdir (every cacheable step comes from the step cache; `serve`
 * and `monitor`, declared `cache: false`, run again). Both are the CLI as a user runs it, a
 * new process each, timed from spawn to exit. Each round uses a fresh workdir.
 *
 * Outputs are checked in full and the benchmark fails (exit 1) otherwise: the rerun's summary
 * must report every cacheable step `cached` and the others `ran`, and the same model (sha256
 * of the registered ONNX bytes and the summary's `model.sha256`), label counts, layer counts,
 * reconciliation and held-out AUROC as the cold run; both runs' model bytes in the registry
 * are hashed and compared.
 *
 *   node --conditions=@vigil/source --import tsx bench/pipeline/cached-rerun.ts [--patients 1000] [--days 90] [--rounds 1] [--dist]
 *
 * `--dist` runs `node cli/dist/main.js` (build first: `npm run build`) instead of the CLI from
 * sources through tsx (what the e2e tests run; ~1 s more start-up on each side).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { adverseEventsPipeline } from '@vigil/job-adverse-events';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    rounds: { type: 'string', default: '1' },
    dist: { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = args.dist
  ? [join(root, 'cli/dist/main.js')]
  : ['--conditions=@vigil/source', '--import', 'tsx', join(root, 'cli/src/main.ts')];

interface Summary {
  runId: string;
  durationMs: number;
  steps: { name: string; status: string; ms: number }[];
  label: unknown;
  layers: unknown;
  reconciliation: unknown;
  model: { sha256: string; auroc: number; version: string };
  trainingRunId: string;
}

function vigil(argv: string[]): Promise<{ ms: number; summary: Summary }> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, [...cli, ...argv], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - began;
      if (code !== 0) return reject(new Error(`vigil ${argv.join(' ')} exited ${code}\n${stderr}`));
      resolve({ ms, summary: JSON.parse(stdout.trim().split('\n').at(-1)!) as Summary });
    });
  });
}

const fail = (what: string): never => {
  console.error(`output check failed: ${what}`);
  process.exit(1);
};

/** sha256 of the ONNX bytes the run logged to the file registry. */
async function registeredModelSha(workdir: string, trainingRunId: string): Promise<string> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === 'model.onnx' && p.includes(trainingRunId)) found.push(p);
    }
  };
  await walk(workdir);
  if (found.length !== 1)
    fail(`expected one model.onnx for training run ${trainingRunId}, found ${found.length}`);
  return createHash('sha256')
    .update(await readFile(found[0]!))
    .digest('hex');
}

const uncacheable = new Set(
  adverseEventsPipeline('simulate')
    .steps.filter((s) => s.cache === false)
    .map((s) => s.name),
);
const rounds = Number(args.rounds);
const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-cached-'));
try {
  const config = join(dir, 'vigil.yaml');
  await writeFile(
    config,
    [
      'version: 1',
      'preset: local',
      'seed: 42',
      'job:',
      `  trial: { patients: ${args.patients}, days: ${args.days} }`,
    ].join('\n'),
  );
  console.log(
    `vigil run (local preset, ${args.patients} patients × ${args.days} days, CLI from ${args.dist ? 'cli/dist' : 'sources via tsx'}): cold vs identical rerun, ${rounds} round(s)`,
  );
  const colds: number[] = [];
  const warms: number[] = [];
  const stepSums = {
    coldCacheable: [] as number[],
    warmCacheable: [] as number[],
    warmUncacheable: [] as number[],
    warmOutside: [] as number[],
  };
  const sum = (steps: Summary['steps'], keep: (name: string) => boolean) =>
    steps.filter((s) => keep(s.name)).reduce((t, s) => t + s.ms, 0);
  let reference: Summary | undefined;
  for (let round = 0; round < rounds; round++) {
    const workdir = join(dir, `work-${round}`);
    const argv = ['run', '--config', config, '--workdir', workdir, '--json'];
    const cold = await vigil(argv);
    const warm = await vigil(argv);
    const c = cold.summary;
    const w = warm.summary;
    if (c.steps.some((s) => s.status !== 'ran')) fail(`cold run reused steps: ${JSON.stringify(c.steps)}`);
    for (const s of w.steps) {
      const expected = uncacheable.has(s.name) ? 'ran' : 'cached';
      if (s.status !== expected) fail(`rerun: step ${s.name} ${s.status}, expected ${expected}`);
    }
    if (w.steps.length !== c.steps.length) fail('rerun ran a different set of steps');
    reference ??= c;
    for (const [what, s] of [
      ['cold', c],
      ['rerun', w],
    ] as const) {
      for (const key of ['label', 'layers', 'reconciliation'] as const) {
        if (JSON.stringify(s[key]) !== JSON.stringify(reference[key]))
          fail(`${what} round ${round + 1}: ${key} differs`);
      }
      if (s.model.sha256 !== reference.model.sha256) fail(`${what} round ${round + 1}: model sha256 differs`);
      if (s.model.auroc !== reference.model.auroc) fail(`${what} round ${round + 1}: AUROC differs`);
    }
    // The model bytes behind the summary's hash: the cold run's registered ONNX.
    const bytesSha = await registeredModelSha(workdir, c.trainingRunId);
    if (bytesSha !== c.model.sha256)
      fail(`registered model bytes ${bytesSha} ≠ summary sha256 ${c.model.sha256}`);
    colds.push(cold.ms);
    warms.push(warm.ms);
    stepSums.coldCacheable.push(sum(c.steps, (n) => !uncacheable.has(n)));
    stepSums.warmCacheable.push(sum(w.steps, (n) => !uncacheable.has(n)));
    stepSums.warmUncacheable.push(sum(w.steps, (n) => uncacheable.has(n)));
    // Process start, module loading, config, kernel start and close, summary: outside the steps.
    stepSums.warmOutside.push(warm.ms - sum(w.steps, () => true));
    console.log(
      `  round ${round + 1}: cold ${(cold.ms / 1000).toFixed(2)} s, rerun ${(warm.ms / 1000).toFixed(2)} s (steps ran again: ${w.steps
        .filter((s) => s.status === 'ran')
        .map((s) => `${s.name} ${Math.round(s.ms)} ms`)
        .join(', ')})`,
    );
    await rm(workdir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cold = median(colds);
  const warm = median(warms);
  console.log(`  cold run          ${(cold / 1000).toFixed(2)} s`);
  console.log(`  cached rerun      ${(warm / 1000).toFixed(2)} s`);
  console.log(`  ratio cold/rerun  ${(cold / warm).toFixed(1)}× (target ≥ 10×)`);
  const cc = median(stepSums.coldCacheable);
  const wc = median(stepSums.warmCacheable);
  console.log(`  where the rerun's time goes (median):`);
  console.log(
    `    cacheable steps (${[...uncacheable].length ? 'all but ' + [...uncacheable].join(', ') : 'all'}): ${(wc / 1000).toFixed(2)} s, cold ${(cc / 1000).toFixed(2)} s — ratio ${(cc / wc).toFixed(0)}×`,
  );
  console.log(
    `    steps declared cache: false (${[...uncacheable].join(', ')}), run again by design: ${(median(stepSums.warmUncacheable) / 1000).toFixed(2)} s`,
  );
  console.log(
    `    outside the steps (process start, module loading, config, kernel start/close): ${(median(stepSums.warmOutside) / 1000).toFixed(2)} s`,
  );
  console.log(
    `  outputs checked: yes — model sha256 ${reference!.model.sha256.slice(0, 16)}… (registered bytes hashed), label ${JSON.stringify(reference!.label)}, layers and AUROC ${reference!.model.auroc.toFixed(4)} equal`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
