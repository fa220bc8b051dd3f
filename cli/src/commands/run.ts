import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createLogger, Kernel } from '@vigil/core';
import { type JobConfig, runAdverseEventJob } from '@vigil/job-adverse-events';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';
import { ProgressDisplay } from '../progress-display.js';
import { renderSummary } from '../summary-table.js';

function codeVersion(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export interface RunOptions extends ConfigOverrides {
  config?: string;
  json?: boolean;
}

/** `vigil run`: the main job on the configured preset. Returns the process exit code. */
export async function runCommand(options: RunOptions): Promise<number> {
  const registry = createDefaultRegistry();
  const config = await resolveConfig(registry, options.config, options);
  const workdir = resolve(config.workdir);
  // Structured logs go to a file; the terminal shows progress and the summary.
  const logger = createLogger({ level: config.log.level, file: join(workdir, 'logs', 'vigil.log') });
  const kernel = new Kernel({ registry, config, logger, codeVersion: codeVersion() });
  let interrupted: NodeJS.Signals | undefined;
  kernel.handleSignals((signal) => {
    interrupted = signal;
    process.stderr.write(`\n${signal} received: stopping after the current batch, closing components…\n`);
  });
  const progress = new ProgressDisplay();
  try {
    await kernel.start();
    await kernel.emit('runStart', { runId: kernel.runId, preset: config.preset ?? 'custom' });
    const summary = await runAdverseEventJob(kernel, config.sections.job as JobConfig, (p) =>
      progress.update(p),
    );
    progress.stop();
    await kernel.emit('runEnd', { runId: kernel.runId, ok: true, summary: { ...summary } });
    await kernel.close();
    const result = { ...summary, preset: config.preset ?? 'custom' };
    process.stdout.write(`${renderSummary(result)}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (error) {
    progress.stop();
    await kernel.emit('runEnd', { runId: kernel.runId, ok: false });
    await kernel.close();
    if (interrupted) {
      process.stderr.write(
        `run ${kernel.runId} interrupted by ${interrupted}; components closed in reverse order\n`,
      );
      return interrupted === 'SIGINT' ? 130 : 143;
    }
    throw error;
  }
}
