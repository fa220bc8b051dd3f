import { createRng, type Rng } from '@vigil/core';
import { z } from 'zod';

/** One hyper-parameter's range: a number range (optionally log-scaled, integer) or a list of values. */
export const paramRangeSchema = z.union([
  z
    .strictObject({
      low: z.number().describe('Lowest value.'),
      high: z.number().describe('Highest value.'),
      log: z.boolean().default(false).describe('Sample uniformly in log space (for rates and penalties).'),
      integer: z.boolean().default(false).describe('Round to an integer.'),
    })
    .refine((r) => r.high > r.low, { message: 'high must be greater than low' })
    .refine((r) => !r.log || r.low > 0, { message: 'a log range needs low > 0' }),
  z
    .strictObject({
      values: z
        .array(z.union([z.number(), z.string(), z.boolean()]))
        .min(1)
        .describe('The choices.'),
    })
    .describe('A categorical choice.'),
]);
export type ParamRange = z.output<typeof paramRangeSchema>;
export type Params = Record<string, number | string | boolean>;

/** Draw one configuration from the space. */
export function sampleParams(space: Readonly<Record<string, ParamRange>>, rng: Rng): Params {
  const out: Params = {};
  for (const name of Object.keys(space).sort()) {
    const range = space[name]!;
    if ('values' in range) {
      out[name] = range.values[rng.int(range.values.length)]!;
      continue;
    }
    const u = rng.next();
    let v = range.log
      ? Math.exp(Math.log(range.low) + u * (Math.log(range.high) - Math.log(range.low)))
      : range.low + u * (range.high - range.low);
    if (range.integer) v = Math.min(range.high, Math.max(range.low, Math.round(v)));
    out[name] = v;
  }
  return out;
}

/** `n` seeded configurations. */
export function sampleConfigurations(
  space: Readonly<Record<string, ParamRange>>,
  n: number,
  seed: number,
): Params[] {
  const rng = createRng(seed).fork('tuning');
  return Array.from({ length: n }, () => sampleParams(space, rng));
}
