/**
 * The data both tuners work on: the training set the adverse-event job builds for a simulated
 * trial (its `training-set` step, local preset), less the held-out test patients, with the
 * patient-grouped stratified inner folds the `tune` step scores trials on. Written once to a
 * folder (header JSON + the feature matrix as raw float32) that every process of the
 * benchmark — this one, the worker threads, Optuna's objective child — reads back.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  CORE_VERSION,
  ComponentRegistry,
  createLogger,
  Kernel,
  loadConfig,
  type PipelineDescriptor,
  type PortName,
  pipelinePorts,
  runPipeline,
  type VigilConfig,
} from '@vigil/core';
import { groupedStratifiedFolds, withoutTestPatients } from '@vigil/job-adverse-events';
import { localPreset } from '@vigil/preset-local';
import type { FoldRows, RowSet } from '../../jobs/adverse-events/src/tuning/fold-scorer.js';

export interface TuningData {
  set: RowSet;
  folds: FoldRows[];
  /** Patients (non-test) and positive rows, for the report. */
  patients: number;
  positives: number;
}

/**
 * Build (or reuse, from the pipeline's step cache under ~/.cache/vigil) the training set and
 * its folds. A cached workdir that no longer runs (e.g. the job's steps changed under it) is
 * wiped and built afresh, once.
 */
export async function buildTuningData(options: {
  patients: number;
  days: number;
  seed: number;
  folds: number;
}): Promise<TuningData> {
  try {
    return await build(options);
  } catch (error) {
    console.error(`cached training set unusable (${(error as Error).message}); building it afresh`);
    await rm(workdirOf(options), { recursive: true, force: true });
    return await build(options);
  }
}

const workdirOf = (o: { patients: number; days: number; seed: number }) =>
  join(
    process.env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil'),
    'bench-tuning',
    `${o.patients}x${o.days}-seed${o.seed}`,
  );

async function build(options: {
  patients: number;
  days: number;
  seed: number;
  folds: number;
}): Promise<TuningData> {
  const registry = new ComponentRegistry(CORE_VERSION).register(localPreset);
  const workdir = workdirOf(options);
  await mkdir(workdir, { recursive: true });
  const config: VigilConfig = loadConfig(
    {
      version: 1,
      preset: 'local',
      seed: options.seed,
      workdir,
      job: { trial: { patients: options.patients, days: options.days } },
    },
    { registry },
  );
  const job = registry.job(config.job!);
  const pipeline = job.pipeline(config.sections.job, config.sections) as PipelineDescriptor<unknown>;
  const jobConfig = { job: config.sections.job, sections: config.sections, seed: config.seed };
  const kernel = new Kernel({
    registry,
    config,
    logger: createLogger({ level: 'silent' }),
    ...(job.schema ? { schema: job.schema } : {}),
  });
  await kernel.start({ ports: pipelinePorts(pipeline) as PortName[] });
  try {
    const result = await runPipeline({ pipeline, jobConfig, host: kernel, targets: ['training-set'] });
    const out = result.outputs['training-set']!;
    const dataset = out.dataset as RowSet & { at: Float64Array };
    const split = out.split as { test: string[] };
    const set = withoutTestPatients(dataset, split);
    const folds = groupedStratifiedFolds(set.groups, set.y, {
      k: options.folds,
      seed: options.seed,
      testPatients: split.test,
    });
    return {
      set,
      folds: folds.splits.map((s) => ({ train: s.train, test: s.test })),
      patients: new Set(set.groups).size,
      positives: set.y.reduce((a, b) => a + b, 0),
    };
  } finally {
    await kernel.close();
  }
}

export async function writeTuningData(dir: string, data: TuningData): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { set } = data;
  await writeFile(join(dir, 'x.f32'), new Uint8Array(set.x.buffer, set.x.byteOffset, set.x.byteLength));
  await writeFile(
    join(dir, 'set.json'),
    JSON.stringify({
      featureNames: set.featureNames,
      y: Array.from(set.y),
      groups: set.groups,
      at: set.at ? Array.from(set.at) : null,
      lineage: set.lineage,
      folds: data.folds,
      patients: data.patients,
      positives: data.positives,
    }),
  );
}

export async function readTuningData(dir: string): Promise<TuningData> {
  const header = JSON.parse(await readFile(join(dir, 'set.json'), 'utf8')) as {
    featureNames: string[];
    y: number[];
    groups: string[];
    at: number[] | null;
    lineage: RowSet['lineage'];
    folds: FoldRows[];
    patients: number;
    positives: number;
  };
  const bytes = await readFile(join(dir, 'x.f32'));
  const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    set: {
      featureNames: header.featureNames,
      x,
      y: Uint8Array.from(header.y),
      groups: header.groups,
      lineage: header.lineage,
      ...(header.at ? { at: Float64Array.from(header.at) } : {}),
    },
    folds: header.folds,
    patients: header.patients,
    positives: header.positives,
  };
}
