import type { AnyJob, CommandHost, ComponentRegistry, Kernel, PortName, VigilConfig } from '@vigil/core';
import { createCliKernel } from './cli-kernel.js';
import { resolveConfig } from './load-config.js';
import { ProgressDisplay } from './progress-display.js';

/**
 * Progress of a job command on stderr: a bar on a terminal; elsewhere one line per tenth
 * of the total, `<stage>: <message>` (stdout stays for the command's report).
 */
class CommandProgress {
  readonly #stream: NodeJS.WriteStream;
  #display: ProgressDisplay | undefined;
  #stage: string | undefined;
  #tenth = 0;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
  }

  update(stage: string, done: number, total: number, message?: string): void {
    if (this.#stream.isTTY) {
      this.#display ??= new ProgressDisplay(this.#stream);
      this.#display.update({ stage, done, total, ...(message ? { message } : {}) });
      return;
    }
    if (stage !== this.#stage) {
      this.#stage = stage;
      this.#tenth = 0;
    }
    const tenth = Math.floor((10 * done) / Math.max(1, total));
    if (tenth > this.#tenth) {
      this.#tenth = tenth;
      this.#stream.write(`${stage}: ${message ?? `${done}/${total}`}\n`);
    }
  }

  stop(): void {
    this.#display?.stop();
    this.#display = undefined;
    this.#stage = undefined;
  }
}

/** A host for one run of a job's command, and the kernels it started (to close after). */
export interface CliCommandHost extends CommandHost {
  /** Close every kernel the command left open and stop the progress display. */
  dispose(): Promise<void>;
}

/**
 * What the CLI offers a job's command: the config loaded as `vigil run` loads it, kernels
 * that start only the ports asked for (with the job's record schema, logs in
 * <workdir>/logs/vigil.log), progress on stderr.
 */
export function createCommandHost(registry: ComponentRegistry, job: AnyJob): CliCommandHost {
  const kernels: Kernel[] = [];
  const progress = new CommandProgress(process.stderr);
  return {
    registry,
    stdout: process.stdout,
    stderr: process.stderr,
    loadConfig: (options) =>
      resolveConfig(registry, options.config, {
        preset: options.preset,
        workdir: options.workdir,
        seed: options.seed,
      }),
    async kernel(config: VigilConfig, ports: readonly PortName[]) {
      const kernel = createCliKernel(registry, config, { job });
      kernels.push(kernel);
      await kernel.start({ ports });
      return kernel;
    },
    progress: (stage, done, total, message) => progress.update(stage, done, total, message),
    progressDone: () => progress.stop(),
    async dispose() {
      progress.stop();
      for (const kernel of kernels.reverse()) await kernel.close();
    },
  };
}
