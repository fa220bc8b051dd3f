import type { Server } from '@vigil/core';
import type { RolloutObservation } from './canary-controller.js';

/** Running per-version counters as a server reports them (e.g. the onnx server's `stats()[model]`). */
export type VersionCounters = Readonly<
  Record<string, { readonly errors: number; readonly fallbacks?: number }>
>;

/** The running counters of `model` on `server` (its `stats()`), or none when the server keeps none. */
export function versionCountersOf(server: Server, model: string): VersionCounters {
  const host = server as Server & { stats?: () => Record<string, VersionCounters> };
  return typeof host.stats === 'function' ? (host.stats()[model] ?? {}) : {};
}

/**
 * Turns running counters into the deltas `CanaryController.observe` takes: each call
 * returns what grew since the previous call. A counter that went down (the server
 * restarted) counts from zero again.
 */
export class StatsDeltas {
  readonly #last = new Map<string, { errors: number; fallbacks: number }>();

  next(current: VersionCounters): Required<Pick<RolloutObservation, 'errors' | 'fallbacks'>> {
    const errors: Record<string, number> = {};
    const fallbacks: Record<string, number> = {};
    for (const [version, counters] of Object.entries(current)) {
      const now = { errors: counters.errors, fallbacks: counters.fallbacks ?? 0 };
      const before = this.#last.get(version) ?? { errors: 0, fallbacks: 0 };
      errors[version] = now.errors >= before.errors ? now.errors - before.errors : now.errors;
      fallbacks[version] =
        now.fallbacks >= before.fallbacks ? now.fallbacks - before.fallbacks : now.fallbacks;
      this.#last.set(version, now);
    }
    return { errors, fallbacks };
  }
}
