/**
 * Child process of mq-bridge-inbound.test.ts: exactly what the CLI does to run components —
 * the default registry, the config file resolved as `vigil` resolves it, a kernel with the
 * job's record schema, started with the ports a command asks for (here: source, plus the
 * configured plugins) and closed on SIGTERM — with no recovery or cleanup of its own. The
 * mq-bridge plugin in the config consumes the queue; its JSON log lines go to stderr.
 * `VIGIL_FAULT_KILL_AT=mq-after-produce:<n>` (read by the product) makes it SIGKILL itself.
 *
 *   node --conditions=@vigil/source --import tsx mq-bridge-inbound-child.ts <config.yaml>
 */
import { createLogger, Kernel } from '@vigil/core';
import { createDefaultRegistry } from '../../cli/src/default-registry.js';
import { resolveConfig } from '../../cli/src/load-config.js';

const file = process.argv[2];
if (!file) throw new Error('usage: mq-bridge-inbound-child.ts <config.yaml>');
const registry = createDefaultRegistry();
const config = await resolveConfig(registry, file, {});
const job = config.job === undefined ? undefined : registry.job(config.job);
const kernel = new Kernel({
  registry,
  config,
  logger: createLogger({ level: config.log.level }),
  ...(job?.schema ? { schema: job.schema } : {}),
});
kernel.handleSignals(() => {
  void kernel.close().then(() => process.exit(0));
});
await kernel.start({ ports: ['source'] });
