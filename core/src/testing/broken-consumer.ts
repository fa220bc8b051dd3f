import type { Consumer, Source } from '../ports/source.js';

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
  return {
    capabilities: source.capabilities,
    ensureTopic: (topic, options) => source.ensureTopic(topic, options),
    describeTopic: (topic) => source.describeTopic(topic),
    produce: (records) => source.produce(records),
    close: () => source.close(),
    async consumer(options) {
      const c = await source.consumer(options);
      return {
        poll: (o) => c.poll(o),
        commit: (offsets) => c.commit(offsets),
        committed: () => c.committed(),
        seek: (position) => c.seek(position),
        close: () => c.close(),
        ...overrides(c),
      };
    },
  };
}
