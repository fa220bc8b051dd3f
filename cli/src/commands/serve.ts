import { join, resolve } from 'node:path';
import { CHAMPION, createLogger, Kernel, VigilError, versionArtifact } from '@vigil/core';
import { createCliKernel, modelName } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';

export interface ServeOptions extends ConfigOverrides {
  config?: string;
  model?: string;
  alias?: string;
  host?: string;
  port?: number;
  pollMs?: number;
}

/**
 * `vigil serve`: the long-running server a team deploys. It serves the registered model's
 * alias (default `champion`) over the Open Inference Protocol, follows alias changes without a
 * restart (promotion, rollback), and on SIGINT/SIGTERM stops taking requests, drains the ones in
 * flight and exits 0.
 */
export async function serveCommand(options: ServeOptions): Promise<number> {
  const components = createDefaultRegistry();
  const config = await resolveConfig(components, options.config, options);
  const name = modelName(components, config, options.model);
  const alias = options.alias ?? CHAMPION;
  const kernel = createCliKernel(components, config);
  const logger = kernel.logger;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => {
    stop = r;
  });
  kernel.handleSignals((signal) => {
    process.stderr.write(`${signal} received: draining in-flight requests, closing…\n`);
    stop();
  });
  await kernel.start({ ports: ['registry', 'server'] });
  const registry = kernel.port('registry');
  const server = kernel.port('server');
  let served: string | undefined;
  const follow = async () => {
    const version = (await registry.getVersionByAlias(name, alias)).version;
    if (version === served) return;
    await server.load({ name, version, artifact: await versionArtifact(registry, name, version) });
    await server.route(name, { candidates: [{ version, weight: 100 }] });
    const previous = served;
    served = version;
    if (previous !== undefined) await server.unload(name, previous).catch(() => undefined);
    logger.info({ model: name, alias, version, previous }, 'serving version');
    process.stderr.write(
      `now serving ${name}@${alias} = v${version}${previous ? ` (was v${previous})` : ''}\n`,
    );
  };
  try {
    await follow();
    const { url } = await server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
    process.stdout.write(`serving ${name}@${alias} (v${served}) at ${url}\n`);
    const timer = setInterval(() => {
      follow().catch((error: unknown) =>
        logger.warn({ err: error }, 'could not follow the alias; still serving'),
      );
    }, options.pollMs ?? 2000);
    await stopped;
    clearInterval(timer);
  } finally {
    await kernel.close();
  }
  return 0;
}
