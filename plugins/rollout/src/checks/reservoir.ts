import { createRng } from '@vigil/core';

/** A uniform sample of at most `cap` values out of `seen` offered (Algorithm R). */
export interface Reservoir {
  seen: number;
  values: number[];
}

export function emptyReservoir(): Reservoir {
  return { seen: 0, values: [] };
}

/**
 * Offer one value. Beyond `cap` the n-th value replaces a random slot with probability
 * cap / n; the draw is a hash of `salt` and n, so the same stream gives the same sample
 * (also after the state was persisted and resumed).
 */
export function offer(reservoir: Reservoir, value: number, cap: number, salt: string): void {
  reservoir.seen += 1;
  if (reservoir.values.length < cap) {
    reservoir.values.push(value);
    return;
  }
  const j = createRng(`${salt}:${reservoir.seen}`).int(reservoir.seen);
  if (j < cap) reservoir.values[j] = value;
}
