import type { z } from 'zod';
import type { AdapterDescriptor } from '../kernel/define.js';
import type { PortMap, PortName } from '../ports/index.js';
import type { TestContext } from './context.js';

/** A contract fixture over a real adapter: what the port fixtures with `reopen` need. */
export interface AdapterFixture<T> {
  /** The first instance the descriptor created. */
  impl: T;
  /**
   * Another instance from the same descriptor, config and context: over the same storage,
   * as a restarted process would see it. Each call creates one more.
   */
  reopen(): Promise<T>;
  /** Close every instance created (the first one first), then the context. */
  cleanup(): Promise<void>;
}

/**
 * Create an adapter's implementation for a contract suite, with `reopen` creating it again
 * on the same config and context and `cleanup` closing them all and then `ctx`. `wrap`
 * applies to every instance (to inject a bug). Add the port's own fixture fields by spreading:
 * `{ ...(await adapterFixture(descriptor, config, ctx)), prepared }`.
 */
export async function adapterFixture<P extends PortName, S extends z.ZodType>(
  descriptor: AdapterDescriptor<P, S>,
  config: z.output<S>,
  ctx: TestContext,
  options: { wrap?: (impl: PortMap[P]) => PortMap[P] } = {},
): Promise<AdapterFixture<PortMap[P]>> {
  const wrap = options.wrap ?? ((impl) => impl);
  const opened: PortMap[P][] = [];
  const open = async (): Promise<PortMap[P]> => {
    const impl = wrap(await descriptor.create(config, ctx));
    opened.push(impl);
    return impl;
  };
  let impl: PortMap[P];
  try {
    impl = await open();
  } catch (error) {
    await ctx.cleanup();
    throw error;
  }
  return {
    impl,
    reopen: open,
    async cleanup() {
      for (const instance of opened) await instance.close();
      await ctx.cleanup();
    },
  };
}
