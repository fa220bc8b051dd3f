import type { Logger } from '@vigil/core';

/**
 * A warning logged at most once per `intervalMs` per key (e.g. model, version and reason of a
 * fallback answer), so an outage that sends every request to the fallback writes one line per
 * interval instead of one per request. The next line logged for a key says how many were
 * left out since the one before (`suppressed`).
 */
export class ThrottledWarning {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: Logger, intervalMs = 10_000, now: () => number = Date.now) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const at = this.#now();
    const last = this.#last.get(key);
    if (last && at - last.at < this.#intervalMs) {
      last.suppressed++;
      return;
    }
    this.#logger.warn(last?.suppressed ? { ...fields, suppressed: last.suppressed } : fields, message);
    this.#last.set(key, { at, suppressed: 0 });
  }
}
