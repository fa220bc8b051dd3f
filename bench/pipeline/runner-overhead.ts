/**
 * Pipeline runner overhead: the adverse-event job's pipeline run by `runPipeline` (with
 * `noCache: true`: every step runs) against the same steps' `run(ctx, inputs)` called
 * directly, in dependency order, with hand-built contexts — same config, same registry, a
 * fresh workdir and a fresh started kernel (local preset) for every run, in one process.
 * The order alternates over the rounds. Every run must give the same model bytes (sha256 of
 * `train.model.bytes`), label counts, silver counts, training set (features, labels, groups,
 * times, byte for byte), patient split and held-out AUROC; the benchmark fails (exit 1)
 * otherwise.
 *
 *   node --conditions=@vigil/source --import tsx bench/pipeline/runner-overhead.ts [--patients 1000] [--days 90] [--rounds 2] [--warmup-patients 60]
 *
 * Only the pipeline is timed (kernel start and close, equal on both sides, are not).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AnyStep,
  CORE_VERSION,
  ComponentRegistry,
  createLogger,
  definePipeline,
  Kernel,
  loadConfig,
  type PipelineDescriptor,
  type PortMap,
  type PortName,
  parseInput,
  pipelineGraph,
  pipelinePorts,
  runPipeline,
  type StepContext,
  type StepOutputs,
  type VigilConfig,
} from '@vigil/core';
import { localPreset } from '@vigil/preset-local';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    rounds: { type: 'string', default: '2' },
    // A discarded run of each kind first (module loading, JIT, DuckDB and onnxruntime start).
    'warmup-patients': { type: 'string', default: '60' },
  },
});
const patients = Number(args.patients);
const days = Number(args.days);
const rounds = Number(args.rounds);
const warmupPatients = Number(args['warmup-patients']);

const registry = new ComponentRegistry(CORE_VERSION).register(localPreset);
const logger = createLogger({ level: 'silent' });
const root = await mkdtemp(join(tmpdir(), 'vigil-bench-pipeline-'));

interface Outcome {
  ms: number;
  modelSha256: string;
  reportedSha256: string;
  labelCounts: string;
  silverCounts: string;
  datasetSha256: string;
  split: string;
  testAuroc: number;
  steps: number;
  /** Per step, ms (the runner's own record, which includes its encode/decode and records). */
  stepMs: Record<string, number>;
  /** Runner only: wall time during which no step's `run` was executing (the runner's own work). */
  ownMs?: number;
}

/** A fresh workdir, config and started kernel (only the pipeline's ports), closed after `body`. */
async function withKernel(
  name: string,
  size: { patients: number; days: number },
  body: (
    kernel: Kernel,
    pipeline: PipelineDescriptor<unknown>,
    jobConfig: unknown,
  ) => Promise<StepOutputs[] | Record<string, StepOutputs>>,
): Promise<{ ms: number; outputs: Record<string, StepOutputs> }> {
  const workdir = join(root, name);
  const config: VigilConfig = loadConfig(
    { version: 1, preset: 'local', seed: 42, workdir, job: { trial: size } },
    { registry },
  );
  const job = registry.job(config.job!);
  const pipeline = job.pipeline(config.sections.job, config.sections) as PipelineDescriptor<unknown>;
  const jobConfig = { job: config.sections.job, sections: config.sections, seed: config.seed };
  const kernel = new Kernel({ registry, config, logger, ...(job.schema ? { schema: job.schema } : {}) });
  await kernel.start({ ports: pipelinePorts(pipeline) as PortName[] });
  try {
    const began = performance.now();
    const outputs = (await body(kernel, pipeline, jobConfig)) as Record<string, StepOutputs>;
    const ms = performance.now() - began;
    return { ms, outputs };
  } finally {
    await kernel.close();
    await rm(workdir, { recursive: true, force: true });
  }
}

/** The training set's features, labels, groups and prediction times, byte for byte. */
function datasetHash(value: unknown): string {
  const d = value as
    | { featureNames: string[]; x: Float32Array; y: Uint8Array; groups: string[]; at: Float64Array }
    | undefined;
  if (!d) throw new Error('output check failed: no training-set.dataset');
  const h = createHash('sha256').update(JSON.stringify([d.featureNames, d.groups]));
  for (const a of [d.x, d.y, d.at]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

function outcome(ms: number, outputs: Record<string, StepOutputs>, stepMs: Record<string, number>): Outcome {
  const model = outputs.train?.model as { bytes: Uint8Array; sha256: string } | undefined;
  if (!model) throw new Error('output check failed: no train.model');
  return {
    ms,
    modelSha256: createHash('sha256').update(model.bytes).digest('hex'),
    reportedSha256: model.sha256,
    labelCounts: JSON.stringify(outputs.label?.counts),
    // The validation report's paths name the workdir and run: everything else must match.
    silverCounts: JSON.stringify({ ...(outputs.silver?.counts as object), report: undefined }),
    datasetSha256: datasetHash(outputs['training-set']?.dataset),
    split: JSON.stringify(outputs['training-set']?.split),
    testAuroc: Number(outputs.train?.testAuroc),
    steps: Object.keys(outputs).length,
    stepMs,
  };
}

/** (a) The runner, every step run (no cache), as `vigil run --no-cache` does. */
async function viaRunner(round: number | string, size = { patients, days }): Promise<Outcome> {
  const stepMs: Record<string, number> = {};
  let ownMs = 0;
  const { ms, outputs } = await withKernel(`runner-${round}`, size, async (kernel, pipeline, jobConfig) => {
    // Each step's `run` wrapped only to note when it starts and ends (two performance.now calls):
    // the time when no step runs is the runner's own work, measured inside the same run.
    const intervals: [number, number][] = [];
    const timed = definePipeline({
      name: pipeline.name,
      steps: pipeline.steps.map((step) => ({
        ...step,
        run: async (ctx: StepContext<unknown>, inputs: Record<string, unknown>) => {
          const t0 = performance.now();
          try {
            return await step.run(ctx, inputs);
          } finally {
            intervals.push([t0, performance.now()]);
          }
        },
      })),
    });
    const began = performance.now();
    const result = await runPipeline({ pipeline: timed, jobConfig, host: kernel, noCache: true });
    const ended = performance.now();
    intervals.sort((a, b) => a[0] - b[0]);
    let busy = 0;
    let cursor = began;
    for (const [a, b] of intervals) {
      const from = Math.max(a, cursor);
      if (b > from) busy += b - from;
      cursor = Math.max(cursor, b);
    }
    ownMs = ended - began - busy;
    if (result.steps.some((s) => s.status !== 'ran')) throw new Error('runner reused a step with noCache');
    for (const s of result.steps) stepMs[s.name] = s.ms;
    return result.outputs;
  });
  return { ...outcome(ms, outputs, stepMs), ownMs };
}

/** (b) The same steps' `run` called one after another in dependency order, contexts built by hand. */
async function direct(round: number | string, size = { patients, days }): Promise<Outcome> {
  const stepMs: Record<string, number> = {};
  const { ms, outputs } = await withKernel(`direct-${round}`, size, async (kernel, pipeline, jobConfig) => {
    const outputs: Record<string, StepOutputs> = {};
    for (const step of pipelineGraph(pipeline).order as readonly AnyStep[]) {
      const inputs: Record<string, unknown> = {};
      for (const ref of step.inputs) {
        const { step: from, output } = parseInput(ref);
        inputs[ref] = outputs[from]?.[output];
      }
      const scratch = join(kernel.workdir, 'tmp', kernel.runId, step.name);
      await mkdir(scratch, { recursive: true });
      const ctx: StepContext<unknown> = {
        runId: kernel.runId,
        workdir: kernel.workdir,
        seed: kernel.config.seed,
        logger: kernel.logger,
        signal: kernel.signal,
        config: step.config ? step.config(jobConfig) : null,
        scratch,
        port: <P extends PortName>(name: P): PortMap[P] => kernel.port(name),
        progress: () => {},
        emit: (hook, arg) => kernel.emit(hook, arg),
      };
      const began = performance.now();
      try {
        outputs[step.name] = await step.run(ctx, inputs);
      } finally {
        stepMs[step.name] = performance.now() - began;
        await rm(scratch, { recursive: true, force: true });
      }
    }
    return outputs;
  });
  return outcome(ms, outputs, stepMs);
}

const fail = (what: string): never => {
  console.error(`output check failed: ${what}`);
  process.exit(1);
};

try {
  console.log(
    `adverse-events pipeline, local preset: ${patients} patients × ${days} days, ${rounds} rounds, order alternated`,
  );
  if (warmupPatients > 0) {
    const size = { patients: warmupPatients, days: Math.min(days, 30) };
    const [a, b] = [await viaRunner('warmup', size), await direct('warmup', size)];
    if (a.modelSha256 !== b.modelSha256) fail('warm-up: runner and direct models differ');
    console.log(
      `  warm-up (${size.patients} patients × ${size.days} days, discarded): runner ${(a.ms / 1000).toFixed(2)} s, direct ${(b.ms / 1000).toFixed(2)} s`,
    );
  }
  const runner: Outcome[] = [];
  const plain: Outcome[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      runner.push(await viaRunner(round));
      plain.push(await direct(round));
    } else {
      plain.push(await direct(round));
      runner.push(await viaRunner(round));
    }
    console.log(
      `  round ${round + 1}: runner ${(runner[round]!.ms / 1000).toFixed(2)} s, direct ${(plain[round]!.ms / 1000).toFixed(2)} s (${round % 2 === 0 ? 'runner first' : 'direct first'})`,
    );
  }
  // Every run must give the same model bytes, labels, silver counts and AUROC as the first.
  const reference = runner[0]!;
  for (const [who, list] of [
    ['runner', runner],
    ['direct', plain],
  ] as const) {
    list.forEach((o, i) => {
      if (o.modelSha256 !== reference.modelSha256)
        fail(`${who} round ${i + 1}: model sha256 ${o.modelSha256} ≠ ${reference.modelSha256}`);
      if (o.reportedSha256 !== o.modelSha256)
        fail(`${who} round ${i + 1}: train.model.sha256 does not match its bytes`);
      if (o.labelCounts !== reference.labelCounts)
        fail(`${who} round ${i + 1}: label counts ${o.labelCounts} ≠ ${reference.labelCounts}`);
      if (o.silverCounts !== reference.silverCounts)
        fail(`${who} round ${i + 1}: silver counts differ:\n${o.silverCounts}\n${reference.silverCounts}`);
      if (o.datasetSha256 !== reference.datasetSha256) fail(`${who} round ${i + 1}: training set differs`);
      if (o.split !== reference.split) fail(`${who} round ${i + 1}: patient split differs`);
      if (o.testAuroc !== reference.testAuroc)
        fail(`${who} round ${i + 1}: test AUROC ${o.testAuroc} ≠ ${reference.testAuroc}`);
      if (o.steps !== reference.steps) fail(`${who} round ${i + 1}: ${o.steps} steps ≠ ${reference.steps}`);
    });
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const r = median(runner.map((o) => o.ms));
  const d = median(plain.map((o) => o.ms));
  const overhead = r / d - 1;
  console.log(`  runPipeline (noCache)     ${(r / 1000).toFixed(2)} s (median)`);
  console.log(`  steps called directly     ${(d / 1000).toFixed(2)} s (median)`);
  console.log(
    `  ratio runner/direct ${(r / d).toFixed(3)}  overhead ${(overhead * 100).toFixed(1)} % (target ≤ 5 %)`,
  );
  const own = median(runner.map((o) => o.ownMs ?? 0));
  console.log(
    `  the runner's own work inside its runs (wall time with no step function running: hashing, encoding and decoding outputs, step records, cache files, lineage, fingerprints): ${(own / 1000).toFixed(2)} s median = ${((own / (r - own)) * 100).toFixed(1)} % of the steps' time (rounds: ${runner.map((o) => `${((o.ownMs ?? 0) / 1000).toFixed(2)} s`).join(', ')})`,
  );
  console.log(
    '  per step, median ms (runner: its own step record, incl. encoding outputs; features and label run concurrently under the runner):',
  );
  for (const name of Object.keys(reference.stepMs)) {
    const rs = median(runner.map((o) => o.stepMs[name] ?? 0));
    const ds = median(plain.map((o) => o.stepMs[name] ?? 0));
    console.log(
      `    ${name.padEnd(14)} runner ${rs.toFixed(0).padStart(7)}  direct ${ds.toFixed(0).padStart(7)}  diff ${(rs - ds).toFixed(0).padStart(6)}`,
    );
  }
  console.log(
    `  outputs checked: yes — ${runner.length + plain.length} runs, model sha256 ${reference.modelSha256.slice(0, 16)}…, label ${reference.labelCounts}, AUROC ${reference.testAuroc.toFixed(4)}`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
