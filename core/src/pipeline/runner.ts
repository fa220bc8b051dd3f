import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tagError, VigilError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-file.js';
import type { Hooks, LineageRecorder } from '../kernel/define.js';
import type { Logger } from '../kernel/logger.js';
import type { PortMap, PortName } from '../ports/index.js';
import { ArtifactStore, hashOf } from './artifacts.js';
import type { AnyStep, PipelineDescriptor, StepContext, StepOutputs } from './define.js';
import { parseInput, pipelineGraph } from './graph.js';

/** What the runner needs from the kernel (a started `Kernel` satisfies it). */
export interface PipelineHost {
  readonly runId: string;
  readonly workdir: string;
  readonly logger: Logger;
  readonly lineage: LineageRecorder;
  readonly signal: AbortSignal;
  readonly config: { readonly seed: number };
  port<P extends PortName>(name: P): PortMap[P];
  emit<K extends keyof Hooks>(hook: K, arg: Parameters<Hooks[K]>[0]): Promise<void>;
}

/** ran: executed; cached: outputs reused from an earlier run with the same key; resumed: reused from the run being resumed. */
export type StepStatus = 'ran' | 'cached' | 'resumed';

export interface StepEvent {
  step: string;
  phase: 'start' | 'progress' | 'end' | 'retry' | 'failed';
  status?: StepStatus;
  done?: number;
  total?: number;
  message?: string;
  ms?: number;
}

export interface StepRecord {
  name: string;
  version: number;
  key: string;
  /** Hash of the step's config slice: a resumed step must have the same. */
  configHash: string;
  status: StepStatus | 'failed';
  startedAt: string;
  ms: number;
  attempts: number;
  inputs: Record<string, string>;
  outputs: Record<string, { hash: string; value: unknown }>;
  error?: string;
}

export interface PipelineRunResult {
  runId: string;
  steps: { name: string; status: StepStatus; ms: number }[];
  /** Decoded outputs of every step that ran, was cached or resumed. */
  outputs: Record<string, StepOutputs>;
  /** Content hash of every output, as `step.output`. */
  hashes: Record<string, string>;
}

export interface RunPipelineOptions<JC> {
  pipeline: PipelineDescriptor<JC>;
  jobConfig: JC;
  host: PipelineHost;
  /** Ignore the step cache (every step not resumed runs). */
  noCache?: boolean;
  /** Reuse the finished steps of this earlier run (same inputs) instead of running them. */
  resume?: string;
  /** Steps that run even when they could be resumed or cached. */
  force?: readonly string[];
  /** Run only these steps and what they need. */
  targets?: readonly string[];
  onEvent?: (event: StepEvent) => void;
}

const runDir = (workdir: string, runId: string) => join(workdir, 'runs', runId);
const stepRecordPath = (workdir: string, runId: string, step: string) =>
  join(runDir(workdir, runId), 'steps', `${step}.json`);

/** The step records of a run (absent steps never started). */
export async function readStepRecords(workdir: string, runId: string): Promise<Map<string, StepRecord>> {
  const records = new Map<string, StepRecord>();
  const text = await readFile(join(runDir(workdir, runId), 'run.json'), 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new VigilError('VIGIL_PIPELINE_RUN_UNKNOWN', `no run '${runId}' under ${join(workdir, 'runs')}`);
  }
  const run = JSON.parse(text) as { steps: string[] };
  for (const name of run.steps) {
    const record = await readFile(stepRecordPath(workdir, runId, name), 'utf8').catch(() => undefined);
    if (record !== undefined) records.set(name, JSON.parse(record) as StepRecord);
  }
  return records;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * Run a pipeline: steps in dependency order, independent ones concurrently. Each step is
 * resumed (from `resume`), taken from the cache (same name, version, config slice, input
 * hashes and fingerprint), or run — with retries and backoff when it is idempotent. The
 * runner writes every step's record (inputs and outputs with content hashes, duration,
 * status) under `<workdir>/runs/<runId>/steps/` and into lineage; steps never do.
 */
export async function runPipeline<JC>(options: RunPipelineOptions<JC>): Promise<PipelineRunResult> {
  const { pipeline, host, jobConfig } = options;
  const { order, nodes } = pipelineGraph(pipeline);
  let selected = order;
  if (options.targets) {
    const keep = new Set<string>();
    const add = (name: string) => {
      if (keep.has(name)) return;
      const node = nodes.find((n) => n.name === name);
      if (!node)
        throw new VigilError('VIGIL_PIPELINE_INVALID', `no step '${name}' in pipeline '${pipeline.name}'`);
      keep.add(name);
      for (const d of node.needs) add(d);
    };
    for (const t of options.targets) add(t);
    selected = order.filter((s) => keep.has(s.name));
  }
  const emit = options.onEvent ?? (() => {});
  const store = new ArtifactStore(join(host.workdir, 'artifacts'));
  const cacheDir = join(host.workdir, 'cache', 'steps');
  const dir = runDir(host.workdir, host.runId);
  await mkdir(join(dir, 'steps'), { recursive: true });
  await writeFileAtomic(
    join(dir, 'run.json'),
    JSON.stringify(
      {
        runId: host.runId,
        pipeline: pipeline.name,
        steps: selected.map((s) => s.name),
        resumedFrom: options.resume ?? null,
      },
      null,
      2,
    ),
  );
  const previous = options.resume
    ? await readStepRecords(host.workdir, options.resume)
    : new Map<string, StepRecord>();
  const forced = new Set(options.force ?? []);

  const outputs: Record<string, StepOutputs> = {};
  const hashes: Record<string, string> = {};
  const results: PipelineRunResult['steps'] = [];
  const settled = new Map<string, Promise<void>>();
  let failure: unknown;

  // A reused record's outputs are decoded once: for `stillValid`, then handed on.
  const decodedOf = new WeakMap<StepRecord, StepOutputs>();
  const decodeOutputs = async (record: StepRecord): Promise<StepOutputs> => {
    const known = decodedOf.get(record);
    if (known) return known;
    const decoded: StepOutputs = {};
    for (const [name, o] of Object.entries(record.outputs)) decoded[name] = await store.decode(o.value);
    decodedOf.set(record, decoded);
    return decoded;
  };

  const stillValid = async (
    step: AnyStep,
    ctx: StepContext<unknown>,
    record: StepRecord,
  ): Promise<boolean> => {
    if (!step.stillValid) return true;
    return step.stillValid(ctx, await decodeOutputs(record)).catch(() => false);
  };

  // Pools: steps of one pool take turns (a chain of promises per pool).
  const pools = new Map<string, Promise<void>>();
  const inPool = async <T>(pool: string | undefined, work: () => Promise<T>): Promise<T> => {
    if (!pool) return work();
    const previous = pools.get(pool) ?? Promise.resolve();
    let release!: () => void;
    pools.set(
      pool,
      new Promise<void>((r) => {
        release = r;
      }),
    );
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  };

  const runStep = async (step: AnyStep): Promise<void> => {
    const deps = [...new Set(step.inputs.map((r) => parseInput(r).step))];
    await Promise.all(deps.map((d) => settled.get(d)));
    if (failure) return;
    if (host.signal.aborted) throw host.signal.reason;
    const inputs: Record<string, unknown> = {};
    const inputHashes: Record<string, string> = {};
    for (const ref of step.inputs) {
      const { step: from, output } = parseInput(ref);
      inputs[ref] = outputs[from]?.[output];
      inputHashes[ref] = hashes[ref] ?? '';
    }
    const scratch = join(host.workdir, 'tmp', host.runId, step.name);
    const slice = step.config ? step.config(jobConfig) : null;
    const ctx: StepContext<unknown> = {
      runId: host.runId,
      workdir: host.workdir,
      seed: host.config.seed,
      logger: host.logger.child({ step: step.name }),
      signal: host.signal,
      config: slice,
      scratch,
      port: <P extends PortName>(name: P): PortMap[P] => {
        if (!step.requires.includes(name)) {
          throw new VigilError(
            'VIGIL_PIPELINE_UNDECLARED_PORT',
            `step '${step.name}' asked for port '${name}' without declaring it in 'requires'`,
          );
        }
        return host.port(name);
      },
      progress: (done, total, message) =>
        emit({ step: step.name, phase: 'progress', done, total, ...(message ? { message } : {}) }),
      emit: (hook, arg) => host.emit(hook, arg),
    };
    const began = performance.now();
    const startedAt = new Date().toISOString();
    emit({ step: step.name, phase: 'start' });
    let key = '';
    const prior = previous.get(step.name);
    let record: StepRecord | undefined;
    let status: StepStatus;
    if (
      prior &&
      prior.status !== 'failed' &&
      !forced.has(step.name) &&
      prior.version === step.version &&
      prior.configHash === hashOf(slice) &&
      hashOf(prior.inputs) === hashOf(inputHashes) &&
      (await stillValid(step, ctx, prior))
    ) {
      record = prior;
      status = 'resumed';
    } else {
      const fingerprint = step.fingerprint ? await step.fingerprint(ctx) : null;
      key = hashOf({
        step: step.name,
        version: step.version,
        config: slice,
        inputs: inputHashes,
        fingerprint,
      });
      const cacheFile = join(cacheDir, `${key}.json`);
      const cached =
        step.cache !== false && !options.noCache && !forced.has(step.name)
          ? await readFile(cacheFile, 'utf8')
              .then((t) => JSON.parse(t) as StepRecord)
              .catch(() => undefined)
          : undefined;
      if (cached && (await stillValid(step, ctx, cached))) {
        record = cached;
        status = 'cached';
      } else {
        status = 'ran';
        const attempts = step.idempotent ? 1 + (step.retries ?? 2) : 1;
        let produced: StepOutputs | undefined;
        let attempt = 0;
        for (;;) {
          attempt++;
          try {
            await mkdir(scratch, { recursive: true });
            produced = await inPool(step.pool, () => step.run(ctx, inputs));
            break;
          } catch (error) {
            if (attempt >= attempts || host.signal.aborted) {
              const tagged = tagError(error, `step:${step.name}`, 'run');
              await writeFileAtomic(
                stepRecordPath(host.workdir, host.runId, step.name),
                JSON.stringify(
                  {
                    name: step.name,
                    version: step.version,
                    key,
                    configHash: hashOf(slice),
                    status: 'failed',
                    startedAt,
                    ms: performance.now() - began,
                    attempts: attempt,
                    inputs: inputHashes,
                    outputs: {},
                    error: String((error as Error)?.message ?? error),
                  } satisfies StepRecord,
                  null,
                  2,
                ),
              );
              emit({ step: step.name, phase: 'failed', message: String((error as Error)?.message ?? error) });
              throw tagged;
            }
            const wait = 200 * 2 ** (attempt - 1);
            ctx.logger.warn({ err: error, attempt, waitMs: wait }, 'idempotent step failed; retrying');
            emit({
              step: step.name,
              phase: 'retry',
              message: `attempt ${attempt} failed; retrying in ${wait} ms`,
            });
            await sleep(wait, host.signal);
          } finally {
            await rm(scratch, { recursive: true, force: true });
          }
        }
        const missing = step.outputs.filter((o) => !(o in produced!));
        if (missing.length > 0) {
          throw new VigilError(
            'VIGIL_PIPELINE_OUTPUT_MISSING',
            `step '${step.name}' did not produce ${missing.join(', ')}`,
          );
        }
        const encoded: StepRecord['outputs'] = {};
        for (const name of step.outputs) {
          const value = await store.encode(produced![name]);
          encoded[name] = { hash: hashOf(value), value };
        }
        record = {
          name: step.name,
          version: step.version,
          key,
          configHash: hashOf(slice),
          status: 'ran',
          startedAt,
          ms: performance.now() - began,
          attempts: attempt,
          inputs: inputHashes,
          outputs: encoded,
        };
        if (step.cache !== false) {
          await mkdir(cacheDir, { recursive: true });
          await writeFileAtomic(cacheFile, JSON.stringify(record));
        }
      }
    }
    for (const [name, o] of Object.entries(record.outputs)) hashes[`${step.name}.${name}`] = o.hash;
    outputs[step.name] = await decodeOutputs(record);
    const ms = performance.now() - began;
    await writeFileAtomic(
      stepRecordPath(host.workdir, host.runId, step.name),
      JSON.stringify({ ...record, status, startedAt, ms, key: key || record.key }, null, 2),
    );
    host.lineage.record(
      step.name,
      inputHashes,
      Object.fromEntries(Object.entries(record.outputs).map(([n, o]) => [n, o.hash])),
      { status, durationMs: Math.round(ms), version: step.version, key: key || record.key },
    );
    await host.emit('stageEnd', {
      stage: step.name,
      durationMs: ms,
      outputs: { status, ...Object.fromEntries(Object.entries(record.outputs).map(([n, o]) => [n, o.hash])) },
    });
    results.push({ name: step.name, status, ms });
    emit({ step: step.name, phase: 'end', status, ms });
  };

  for (const step of selected) {
    const p = runStep(step).catch((error: unknown) => {
      failure ??= error;
    });
    settled.set(step.name, p);
  }
  await Promise.all(settled.values());
  await rm(join(host.workdir, 'tmp', host.runId), { recursive: true, force: true });
  if (failure) throw failure;
  const rank = new Map(selected.map((s, i) => [s.name, i]));
  results.sort((a, b) => rank.get(a.name)! - rank.get(b.name)!);
  return { runId: host.runId, steps: results, outputs, hashes };
}
