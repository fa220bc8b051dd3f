import type { StepEvent } from '@vigil/core';
import cliProgress from 'cli-progress';

/**
 * Step-by-step progress on stderr: on a terminal a bar with ETA for the step reporting
 * progress; on every stream one line per finished step with how it finished (ran, cached,
 * resumed) and its time. Stdout stays free for the summary.
 */
export class ProgressDisplay {
  readonly #tty: boolean;
  readonly #stream: NodeJS.WriteStream;
  #bar: cliProgress.SingleBar | undefined;
  #barStep: string | undefined;
  #total = 0;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#tty = Boolean(stream.isTTY);
  }

  /** A plain progress report (commands that are not pipelines). */
  update(progress: { stage: string; done: number; total: number; message?: string }): void {
    this.event({
      step: progress.stage,
      phase: 'progress',
      done: progress.done,
      total: progress.total,
      ...(progress.message ? { message: progress.message } : {}),
    });
  }

  event(e: StepEvent): void {
    if (e.phase === 'progress' && this.#tty) {
      if (this.#barStep !== e.step) this.#startBar(e.step);
      if ((e.total ?? 0) > 0 && e.total !== this.#total) {
        this.#total = e.total!;
        this.#bar!.setTotal(this.#total);
      }
      this.#bar!.update(e.done ?? 0, { message: e.message ?? '' });
    } else if (e.phase === 'end') {
      if (this.#barStep === e.step) this.#stopBar();
      this.#stream.write(
        `✓ ${e.step.padEnd(13)} ${(e.status ?? '').padEnd(8)} ${((e.ms ?? 0) / 1000).toFixed(1)}s\n`,
      );
    } else if (e.phase === 'retry' || e.phase === 'failed') {
      if (this.#barStep === e.step) this.#stopBar();
      this.#stream.write(`${e.phase === 'failed' ? '✗' : '↻'} ${e.step.padEnd(13)} ${e.message ?? ''}\n`);
    }
  }

  #startBar(step: string): void {
    this.#stopBar();
    this.#barStep = step;
    this.#total = 0;
    this.#bar = new cliProgress.SingleBar(
      {
        format: `${step.padEnd(13)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} {message}`,
        stream: this.#stream,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar.start(1, 0, { message: '' });
  }

  #stopBar(): void {
    this.#bar?.stop();
    this.#bar = undefined;
    this.#barStep = undefined;
  }

  stop(): void {
    this.#stopBar();
  }
}
