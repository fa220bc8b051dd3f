import { CHALLENGER, CHAMPION, type PortName, type Server } from '@vigil/core';
import type { RolloutPluginInstance } from '@vigil/plugin-rollout';
import { createCliKernel, modelName } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';
import { aliasVersion, ServeCanary, ServedVersions } from './serve-canary.js';

export interface ServeOptions extends ConfigOverrides {
  config?: string;
  model?: string;
  alias?: string;
  host?: string;
  port?: number;
  pollMs?: number;
}

/** A server that can also serve a metrics text on `/metrics` (the embedded onnx server can). */
interface MetricsHost {
  setMetricsSource(source: () => Promise<string>): void;
}

const hasMetrics = (server: Server): server is Server & MetricsHost =>
  typeof (server as Partial<MetricsHost>).setMetricsSource === 'function';

/**
 * `vigil serve`: the long-running server a team deploys. It serves the registered model's
 * alias (default `champion`) over the Open Inference Protocol and follows alias changes
 * without a restart (promotion, rollback). With the configured job's entity resolver it also
 * answers requests by entity id and the clinician endpoint (`/patients/{id}/risk`), answers
 * from the version's backup tree when the model, the features or the deadline fail, and serves
 * the Monitor's `/metrics` on the same port; the predictions it answers reach the Monitor.
 * With the rollout plugin configured (and the alias `champion`) it also runs the canary of
 * the version under the `challenger` alias (see serve-canary.ts).
 * On SIGINT/SIGTERM it stops taking requests, drains the ones in flight and exits 0.
 */
export async function serveCommand(options: ServeOptions): Promise<number> {
  const components = createDefaultRegistry();
  const config = await resolveConfig(components, options.config, options);
  const name = modelName(components, config, options.model);
  const alias = options.alias ?? CHAMPION;
  const job = config.job ? components.job(config.job) : undefined;
  const kernel = createCliKernel(components, config, job ? { job } : {});
  const logger = kernel.logger;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => {
    stop = r;
  });
  kernel.handleSignals((signal) => {
    process.stderr.write(`${signal} received: draining in-flight requests, closing…\n`);
    stop();
  });
  const configured = (port: PortName) => config.ports[port] !== undefined;
  const ports = new Set<PortName>(['registry', 'server']);
  for (const port of ['monitor', 'trainer', ...(job?.serving?.requires ?? [])] as PortName[]) {
    if (configured(port)) ports.add(port);
  }
  await kernel.start({ ports: [...ports] });
  const registry = kernel.port('registry');
  const server = kernel.port('server');
  const trainer = ports.has('trainer') ? kernel.port('trainer') : undefined;
  if (job?.serving && server.setEntityResolver) {
    server.setEntityResolver(
      await job.serving.resolver({
        config: config.sections.job,
        sections: config.sections,
        port: (p) => kernel.port(p),
      }),
    );
  }
  if (ports.has('monitor') && hasMetrics(server)) {
    const monitor = kernel.port('monitor');
    server.setMetricsSource(() => monitor.metrics());
  }
  const versions = new ServedVersions(name, registry, server, trainer);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const rollout = kernel.plugin<RolloutPluginInstance>('rollout');
  const canary =
    rollout && alias === CHAMPION ? new ServeCanary({ versions, rollout, logger, say }) : undefined;
  if (!canary) {
    const waiting = await aliasVersion(registry, name, CHALLENGER).catch(() => undefined);
    if (waiting !== undefined)
      say(
        `the challenger alias (v${waiting}) is left alone: ${
          rollout
            ? `canaries run only when serving the ${CHAMPION} alias`
            : 'the rollout plugin is not configured'
        }`,
      );
  }
  /** Serve `version` alone: its fallback, 100 % of the route, every other version unloaded. */
  const follow = async (version: string) => {
    if (version === versions.champion && versions.loaded().length === 1) return;
    await versions.ensure(version);
    await server.route(name, { candidates: [{ version, weight: 100 }] });
    const fallback = await versions.fallbackFrom(version);
    const previous = versions.champion;
    versions.champion = version;
    for (const other of versions.loaded()) if (other !== version) await versions.drop(other);
    if (previous === version) return;
    logger.info({ model: name, alias, version, previous, fallback }, 'serving version');
    say(
      `now serving ${name}@${alias} = v${version}${previous ? ` (was v${previous})` : ''}${
        fallback ? `, fallback ${fallback}` : ''
      }`,
    );
  };
  let ticking: Promise<void> | undefined;
  /** One poll: the canary (when one runs it owns the route), else follow the alias. */
  const tick = async () => {
    let version = (await registry.getVersionByAlias(name, alias)).version;
    if (canary) {
      const canaryState = await canary.tick(version);
      if (canaryState === 'running') return;
      if (canaryState === 'ended') version = (await registry.getVersionByAlias(name, alias)).version;
    }
    await follow(version);
  };
  try {
    await tick();
    const { url } = await server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
    process.stdout.write(`serving ${name}@${alias} (v${versions.champion}) at ${url}\n`);
    const timer = setInterval(() => {
      if (ticking) return; // the previous poll is still at work
      ticking = tick()
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'could not follow the alias or drive the canary; still serving');
        })
        .finally(() => {
          ticking = undefined;
        });
    }, options.pollMs ?? 2000);
    await stopped;
    clearInterval(timer);
    await ticking;
  } finally {
    await kernel.close();
  }
  return 0;
}
