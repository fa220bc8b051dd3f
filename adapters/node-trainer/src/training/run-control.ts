import { type TrainProgress, VigilError } from '@vigil/core';

/**
 * Cooperative control of a long training loop: checks the abort signals between iterations,
 * yields to the event loop every `yieldIntervalMs` so timers (and aborts) can run, and
 * forwards progress with a fraction that never goes down and ends at exactly 1.
 */
export class RunControl {
  readonly #signals: AbortSignal[];
  readonly #onProgress: ((progress: TrainProgress) => void) | undefined;
  readonly #yieldIntervalMs: number;
  #lastYield = performance.now();
  #fraction = 0;

  constructor(options: {
    signals: (AbortSignal | undefined)[];
    onProgress?: ((progress: TrainProgress) => void) | undefined;
    yieldIntervalMs: number;
  }) {
    this.#signals = options.signals.filter((s): s is AbortSignal => s !== undefined);
    this.#onProgress = options.onProgress;
    this.#yieldIntervalMs = options.yieldIntervalMs;
  }

  throwIfAborted(): void {
    for (const signal of this.#signals) {
      if (signal.aborted) {
        throw new VigilError('VIGIL_TRAINER_CANCELLED', 'training was cancelled by its abort signal', {
          cause: signal.reason,
        });
      }
    }
  }

  /** Call between iterations: may yield to the event loop, then throws if aborted. */
  async checkpoint(): Promise<void> {
    if (performance.now() - this.#lastYield >= this.#yieldIntervalMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#lastYield = performance.now();
    }
    this.throwIfAborted();
  }

  progress(fraction: number, message?: string, metrics?: Record<string, number>): void {
    this.#fraction = Math.min(1, Math.max(this.#fraction, fraction));
    if (!this.#onProgress) return;
    const report: TrainProgress = { fraction: this.#fraction };
    if (message !== undefined) report.message = message;
    if (metrics !== undefined) report.metrics = metrics;
    this.#onProgress(report);
  }

  /**
   * A control for one part of this run (a fold, a member): same abort signals and yield interval,
   * its progress 0..1 mapped onto `from..to` of this one, its messages prefixed with `label`.
   */
  child(from: number, to: number, label: string): RunControl {
    const child = new RunControl({
      signals: this.#signals,
      onProgress: (p) =>
        this.progress(from + (to - from) * p.fraction, `${label}: ${p.message ?? ''}`, p.metrics),
      yieldIntervalMs: this.#yieldIntervalMs,
    });
    return child;
  }
}
