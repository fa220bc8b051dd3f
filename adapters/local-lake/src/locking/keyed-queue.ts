/**
 * Serialises async work per key within this process: work for one key runs one at a
 * time in call order; different keys run concurrently. Shared by every store instance
 * in the process (keys are absolute lock-file paths), so two instances over the same
 * lake queue instead of polling each other's lock files.
 */
const tails = new Map<string, Promise<unknown>>();

export function runExclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const result = previous.then(work, work);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return result;
}

/** True while some work for the key is queued or running in this process. */
export function isBusy(key: string): boolean {
  return tails.has(key);
}
