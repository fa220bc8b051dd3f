/**
 * Wakes waiting polls when something they may read changed (a produce, a rebalance, a
 * seek, a close). A woken poll re-checks its partitions, so a spurious wake is harmless.
 */
export class WakeSignal {
  readonly #waiters = new Set<() => void>();

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
