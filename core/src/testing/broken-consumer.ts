import type { Consumer, Source } from '../ports/source.js';
import { withOverrides } from './with-overrides.js';

/**
 * A Source whose consumers have some methods replaced, to inject one bug into a real
 * adapter and show that a contract case catches it. `overrides` gets each real consumer
 * and returns the replacements; every other method, and the source itself, delegate.
 *
 * ```ts
 * withBrokenConsumer(source, (c) => ({ seek: async () => { await c.committed(); } }))
 * ```
 */
export function withBrokenConsumer(
  source: Source,
  overrides: (consumer: Consumer) => Partial<Consumer>,
): Source {
  return withOverrides(source, (real) => ({
    async consumer(options) {
      return withOverrides(await real.consumer(options), overrides);
    },
  }));
}
