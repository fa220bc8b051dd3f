import type { StageProgress } from '@vigil/job-adverse-events';
import cliProgress from 'cli-progress';

/**
 * Stage-by-stage progress on stderr: a bar with ETA per stage on a terminal, one line
 * per finished stage otherwise (CI logs, pipes). Stdout stays free for the summary.
 */
export class ProgressDisplay {
  readonly #tty: boolean;
  #bar: cliProgress.SingleBar | undefined;
  #stage: string | undefined;
  #stageStarted = 0;
  #total = 0;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#tty = Boolean(stream.isTTY);
  }

  update(progress: StageProgress): void {
    if (progress.stage !== this.#stage) this.#begin(progress.stage);
    if (!this.#bar) return;
    if (progress.total > 0 && progress.total !== this.#total) {
      this.#total = progress.total;
      this.#bar.setTotal(progress.total);
    }
    this.#bar.update(progress.done, { message: progress.message ?? '' });
  }

  #begin(stage: string): void {
    this.#finish();
    this.#stage = stage;
    this.#stageStarted = performance.now();
    this.#total = 0;
    if (this.#tty) {
      this.#bar = new cliProgress.SingleBar(
        {
          format: `${stage.padEnd(9)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} {message}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(1, 0, { message: '' });
    }
  }

  #finish(): void {
    if (!this.#stage) return;
    const seconds = ((performance.now() - this.#stageStarted) / 1000).toFixed(1);
    if (this.#bar) {
      this.#bar.update(this.#total || 1);
      this.#bar.stop();
      this.#bar = undefined;
    } else {
      process.stderr.write(`✓ ${this.#stage.padEnd(9)} ${seconds}s\n`);
    }
    this.#stage = undefined;
  }

  stop(): void {
    this.#finish();
  }
}
