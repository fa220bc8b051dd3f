/**
 * The rollouts of one process: one CanaryController per model, all keeping their state
 * under one directory. Feeds prediction records to the controller of their model and
 * evaluates them all on one clock.
 */
import { readdir } from 'node:fs/promises';
import type { Logger, Server } from '@vigil/core';
import { isVigilError } from '@vigil/core';
import type { CanaryConfigInput } from '../config.js';
import {
  CanaryController,
  type OutcomeSource,
  type PredictionObservation,
  type RolloutObservation,
} from './canary-controller.js';
import type { Decision } from './rollout-state.js';
import { readState } from './rollout-state.js';

export interface RolloutManagerOptions {
  server: Pick<Server, 'route'>;
  dir: string;
  /** Config of the rollouts this manager starts; resumed ones keep their persisted config. */
  config?: CanaryConfigInput;
  outcomes?: OutcomeSource;
  logger?: Logger;
}

export class RolloutManager {
  readonly #options: RolloutManagerOptions;
  readonly #controllers = new Map<string, CanaryController>();

  constructor(options: RolloutManagerOptions) {
    this.#options = options;
  }

  /** Start a rollout of `model` (see CanaryController.start). */
  async start(
    model: string,
    champion: string,
    challenger: string,
    now: number | Date = Date.now(),
  ): Promise<Decision> {
    const controller = new CanaryController({
      server: this.#options.server,
      dir: this.#options.dir,
      ...(this.#options.config ? { config: this.#options.config } : {}),
      ...(this.#options.outcomes ? { outcomes: this.#options.outcomes } : {}),
      ...(this.#options.logger ? { logger: this.#options.logger } : {}),
    });
    const decision = await controller.start(model, champion, challenger, now);
    this.#controllers.set(model, controller);
    return decision;
  }

  /**
   * Resume every running rollout found in the directory that this manager does not run
   * yet (re-applying its route); returns the models resumed. Unreadable files are logged and skipped.
   */
  async resumeAll(): Promise<string[]> {
    let files: string[];
    try {
      files = await readdir(this.#options.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const resumed: string[] = [];
    for (const file of files) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue;
      const model = decodeURIComponent(file.slice(0, -'.json'.length));
      if (this.#controllers.has(model)) continue;
      try {
        const state = await readState(this.#options.dir, model);
        if (state.status !== 'running') continue;
        const controller = await CanaryController.resume(this.#options.dir, this.#options.server, model, {
          ...(this.#options.outcomes ? { outcomes: this.#options.outcomes } : {}),
          ...(this.#options.logger ? { logger: this.#options.logger } : {}),
        });
        this.#controllers.set(model, controller);
        resumed.push(model);
      } catch (error) {
        this.#options.logger?.warn(
          { file, code: isVigilError(error) ? error.code : undefined, reason: (error as Error).message },
          'rollout state not resumed',
        );
      }
    }
    return resumed;
  }

  get(model: string): CanaryController | undefined {
    return this.#controllers.get(model);
  }

  models(): string[] {
    return [...this.#controllers.keys()];
  }

  /** Give each model's controller its own records (records without `model` are ignored here). */
  observePredictions(records: readonly (PredictionObservation & { model?: string })[]): void {
    const byModel = new Map<string, PredictionObservation[]>();
    for (const record of records) {
      if (record?.model === undefined || !this.#controllers.has(record.model)) continue;
      const list = byModel.get(record.model) ?? [];
      list.push(record);
      byModel.set(record.model, list);
    }
    for (const [model, predictions] of byModel) this.#controllers.get(model)!.observe({ predictions });
  }

  /** Pass an observation to one model's controller (e.g. its error counts). */
  observe(model: string, observation: RolloutObservation): void {
    this.#controllers.get(model)?.observe(observation);
  }

  /** Evaluate every running rollout; a failing evaluation is logged and left out. */
  async evaluateAll(now: number | Date = Date.now()): Promise<Map<string, Decision>> {
    const decisions = new Map<string, Decision>();
    for (const [model, controller] of this.#controllers) {
      if (controller.state?.status !== 'running') continue;
      try {
        decisions.set(model, await controller.evaluate(now));
      } catch (error) {
        this.#options.logger?.warn(
          { model, code: isVigilError(error) ? error.code : undefined, reason: (error as Error).message },
          'rollout evaluation failed',
        );
      }
    }
    return decisions;
  }
}
