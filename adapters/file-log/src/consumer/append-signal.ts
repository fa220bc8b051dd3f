/**
 * Wakes waiting pollers when something they may read changed (an append, a rebalance,
 * a seek, a close). Waiters re-check their state, so a spurious wake-up is harmless.
 */
export class AppendSignal {
  #waiters = new Set<() => void>();

  /** Resolves at the next `notify()` or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiters.add(done);
    });
  }

  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
