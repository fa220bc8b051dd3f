import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type AnyJob,
  type ComponentRegistry,
  type PipelineDescriptor,
  type PortName,
  pipelinePorts,
  runPipeline,
  type VigilConfig,
  VigilError,
} from '@vigil/core';
import { createCliKernel } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';
import { ProgressDisplay } from '../progress-display.js';
import { renderSummary } from '../summary-table.js';

/** The configured job and its pipeline for this config. */
export function configuredJob(
  registry: ComponentRegistry,
  config: VigilConfig,
): {
  job: AnyJob;
  pipeline: PipelineDescriptor<unknown>;
  jobConfig: { job: unknown; sections: unknown; seed: number };
} {
  if (!config.job) {
    throw new VigilError(
      'VIGIL_JOB_UNKNOWN',
      `no job configured: set job.name to one of ${registry.jobNames().join(', ') || '(none registered)'}`,
    );
  }
  const job = registry.job(config.job);
  const jobConfig = { job: config.sections.job, sections: config.sections, seed: config.seed };
  return {
    job,
    pipeline: job.pipeline(config.sections.job, config.sections) as PipelineDescriptor<unknown>,
    jobConfig,
  };
}

export interface RunOptions extends ConfigOverrides {
  config?: string;
  json?: boolean;
  /** commander's --no-cache sets cache: false. */
  cache?: boolean;
  resume?: string;
  /** `--weeks N`: play the job's closed loop over N simulated weeks after the pipeline. */
  weeks?: number;
  /** `--sabotage`: make one challenger of the loop a broken one (the canary must roll it back). */
  sabotage?: boolean;
}

/** `vigil run`: the configured job's pipeline on the configured preset. Returns the exit code. */
export async function runCommand(options: RunOptions): Promise<number> {
  const began = performance.now();
  const registry = createDefaultRegistry();
  const loop =
    options.weeks !== undefined || options.sabotage
      ? {
          loop: {
            ...(options.weeks !== undefined ? { weeks: options.weeks } : {}),
            ...(options.sabotage ? { sabotage: true } : {}),
          },
        }
      : undefined;
  const config = await resolveConfig(registry, options.config, {
    ...options,
    ...(loop ? { job: loop } : {}),
  });
  const { job, pipeline, jobConfig } = configuredJob(registry, config);
  const workdir = resolve(config.workdir);
  // Structured logs go to a file; the terminal shows progress and the summary.
  const kernel = createCliKernel(registry, config, {
    job,
    ...(options.resume ? { runId: options.resume } : {}),
  });
  let interrupted: NodeJS.Signals | undefined;
  kernel.handleSignals((signal) => {
    interrupted = signal;
    process.stderr.write(`\n${signal} received: stopping the running steps, closing components…\n`);
  });
  const progress = new ProgressDisplay();
  try {
    // Only the ports the pipeline's steps use are started.
    await kernel.start({ ports: pipelinePorts(pipeline) as PortName[] });
    await kernel.emit('runStart', { runId: kernel.runId, preset: config.preset ?? 'custom' });
    const result = await runPipeline({
      pipeline,
      jobConfig,
      host: kernel,
      ...(options.cache === false ? { noCache: true } : {}),
      ...(options.resume ? { resume: options.resume } : {}),
      onEvent: (e) => progress.event(e),
    });
    progress.stop();
    const summary = {
      runId: kernel.runId,
      preset: config.preset ?? 'custom',
      job: job.name,
      ...(job.summarize?.(result.outputs, config.sections.job, result.steps) ?? {}),
      steps: result.steps.map((s) => ({ name: s.name, status: s.status, ms: Math.round(s.ms) })),
      workdir,
      durationMs: performance.now() - began,
    };
    const runDir = join(workdir, 'runs', kernel.runId);
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'lineage.json'), JSON.stringify(kernel.lineage.snapshot(), null, 2));
    await writeFile(join(runDir, 'summary.json'), JSON.stringify(summary, null, 2));
    await kernel.emit('runEnd', { runId: kernel.runId, ok: true, summary });
    await kernel.close();
    process.stdout.write(`${renderSummary(summary)}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } catch (error) {
    progress.stop();
    await kernel.emit('runEnd', { runId: kernel.runId, ok: false });
    const runDir = join(workdir, 'runs', kernel.runId);
    await mkdir(runDir, { recursive: true }).catch(() => undefined);
    await writeFile(join(runDir, 'lineage.json'), JSON.stringify(kernel.lineage.snapshot(), null, 2)).catch(
      () => undefined,
    );
    await kernel.close();
    if (interrupted) {
      process.stderr.write(
        `run ${kernel.runId} interrupted by ${interrupted}; components closed in reverse order; continue with: vigil run --resume ${kernel.runId}\n`,
      );
      return interrupted === 'SIGINT' ? 130 : 143;
    }
    process.stderr.write(
      `run ${kernel.runId} failed; after fixing the cause, continue with: vigil run --resume ${kernel.runId}\n`,
    );
    throw error;
  }
}
