import { join, resolve } from 'node:path';
import type { PluginInstance } from '@vigil/core';
import { definePlugin, isVigilError } from '@vigil/core';
import { z } from 'zod';
import { RolloutManager } from './canary/rollout-manager.js';
import { canaryConfig } from './config.js';

// maxSkewPsi needs each observation's `reference` score, which prediction records do not carry:
// through the plugin it could never be judged, and a step would wait on it for ever.
export const rolloutPluginConfig = canaryConfig.omit({ maxSkewPsi: true }).extend({
  dir: z
    .string()
    .min(1)
    .optional()
    .describe('Directory of the rollout state files (one JSON per model); default <workdir>/rollout.'),
  evaluateEveryMs: z
    .number()
    .int()
    .min(100)
    .optional()
    .describe(
      'When set, every this many ms the plugin resumes running rollouts newly written to the directory and evaluates them all on the wall clock; when absent the caller drives `rollouts.evaluateAll`.',
    ),
});

export interface RolloutPluginInstance extends PluginInstance {
  /** The rollouts this plugin feeds; start new ones here. */
  readonly rollouts: RolloutManager;
  /** Directory of the state files (`<dir>/<model>.json`). */
  readonly dir: string;
  /** The plugin's own evaluation period, or undefined when the caller drives `rollouts.evaluateAll`. */
  readonly evaluateEveryMs: number | undefined;
}

/** The state directory a rollout plugin config names: its `dir` (resolved), else `<workdir>/rollout`. */
export function rolloutStateDir(config: { dir?: string | undefined } | undefined, workdir: string): string {
  return config?.dir === undefined ? join(workdir, 'rollout') : resolve(config.dir);
}

/**
 * Rollout plugin: on start it resumes every running rollout under its directory (re-applying
 * their routes on the Server port); the `predictions` hook feeds each model's records to its
 * controller; with `evaluateEveryMs` it also evaluates them on a timer. Labelled outcomes for
 * the AUROC check come from the Monitor port.
 */
export const rolloutPlugin = definePlugin({
  name: 'rollout',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Metric-driven progressive canary (or shadow evaluation) with automatic rollback over the Server port; state persisted per model and resumed on start.',
  config: rolloutPluginConfig,
  requires: ['server', 'monitor'],
  async create(config, ctx): Promise<RolloutPluginInstance> {
    const { dir: configured, evaluateEveryMs, ...canary } = config;
    const dir = rolloutStateDir({ dir: configured }, ctx.workdir);
    const logger = ctx.logger.child({ component: 'plugin:rollout' });
    const rollouts = new RolloutManager({
      server: ctx.port('server'),
      dir,
      config: canary,
      outcomes: ctx.port('monitor'),
      logger,
    });
    // No resume here: at start the Server has no version loaded, so no route could be applied.
    // Whoever loads the versions resumes (`vigil serve` after loading them; the timer below).
    let timer: NodeJS.Timeout | undefined;
    let tick: Promise<void> | undefined;
    if (evaluateEveryMs !== undefined) {
      timer = setInterval(() => {
        if (tick) return; // the previous one is still running
        tick = (async () => {
          await rollouts.resumeAll();
          await rollouts.evaluateAll(Date.now());
        })()
          .catch((error: unknown) =>
            logger.warn(
              { code: isVigilError(error) ? error.code : undefined, reason: (error as Error).message },
              'rollout evaluation failed; the next tick tries again',
            ),
          )
          .finally(() => {
            tick = undefined;
          });
      }, evaluateEveryMs);
      timer.unref();
    }
    return {
      rollouts,
      dir,
      evaluateEveryMs,
      hooks: {
        predictions(records) {
          try {
            rollouts.observePredictions(records);
          } catch (error) {
            logger.warn(
              { code: isVigilError(error) ? error.code : undefined, reason: (error as Error).message },
              'prediction records not observed by the rollout',
            );
          }
        },
      },
      async close() {
        if (timer) clearInterval(timer);
        await tick;
      },
    };
  },
});
