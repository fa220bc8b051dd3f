import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  type AnyJob,
  type ComponentRegistry,
  createLogger,
  Kernel,
  type VigilConfig,
  VigilError,
} from '@vigil/core';

/** The code version lineage records: the git commit, when there is one. */
export function codeVersion(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

/**
 * The kernel every command builds: structured logs in <workdir>/logs/vigil.log (the terminal
 * keeps progress and reports), the job's record schema for the adapters, the code version.
 */
export function createCliKernel(
  registry: ComponentRegistry,
  config: VigilConfig,
  options: { job?: AnyJob; runId?: string } = {},
): Kernel {
  const logger = createLogger({
    level: config.log.level,
    file: join(resolve(config.workdir), 'logs', 'vigil.log'),
  });
  return new Kernel({
    registry,
    config,
    logger,
    codeVersion: codeVersion(),
    ...(options.runId ? { runId: options.runId } : {}),
    ...(options.job?.schema ? { schema: options.job.schema } : {}),
  });
}

/** The registered model a command manages: `--model`, else the configured job's first. */
export function modelName(registry: ComponentRegistry, config: VigilConfig, given?: string): string {
  const job = config.job ? registry.job(config.job) : undefined;
  const name = given ?? job?.models?.(config.sections.job)[0];
  if (!name) throw new VigilError('VIGIL_CONFIG_INVALID', 'no model: pass --model NAME');
  return name;
}
