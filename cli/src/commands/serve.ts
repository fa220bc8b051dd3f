import {
  CHAMPION,
  fallbackArtifact,
  lastSteps,
  type ModelArtifact,
  type PortName,
  type Server,
  type Trainer,
  versionArtifact,
} from '@vigil/core';
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

/** A server that can also serve a metrics text on `/metrics` (the embedded onnx server can). */
interface MetricsHost {
  setMetricsSource(source: () => Promise<string>): void;
}

const hasMetrics = (server: Server): server is Server & MetricsHost =>
  typeof (server as Partial<MetricsHost>).setMetricsSource === 'function';

/** The backup model as the server's fallback: scored by the trainer, on the current row's features. */
function fallbackScorer(trainer: Trainer, served: ModelArtifact, backup: ModelArtifact, version: string) {
  const d = backup.featureNames.length;
  const width = served.inputs[0]?.shape[1] ?? served.featureNames.length;
  if (backup.featureNames.join('\u0000') !== served.featureNames.join('\u0000')) return undefined;
  return {
    version: `${version}-fallback`,
    score: (x: Float32Array, rows: number) => trainer.predict(backup, lastSteps(x, rows, width, d), rows),
  };
}

/**
 * `vigil serve`: the long-running server a team deploys. It serves the registered model's
 * alias (default `champion`) over the Open Inference Protocol and follows alias changes
 * without a restart (promotion, rollback). With the configured job's entity resolver it also
 * answers requests by entity id and the clinician endpoint (`/patients/{id}/risk`), answers
 * from the version's backup tree when the model, the features or the deadline fail, and serves
 * the Monitor's `/metrics` on the same port; the predictions it answers reach the Monitor.
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
  let served: string | undefined;
  const follow = async () => {
    const version = (await registry.getVersionByAlias(name, alias)).version;
    if (version === served) return;
    const artifact = await versionArtifact(registry, name, version);
    await server.load({ name, version, artifact });
    await server.route(name, { candidates: [{ version, weight: 100 }] });
    const backup =
      trainer && server.setFallback ? await fallbackArtifact(registry, name, version) : undefined;
    const fallback = backup && trainer ? fallbackScorer(trainer, artifact, backup, version) : undefined;
    server.setFallback?.(name, fallback);
    const previous = served;
    served = version;
    if (previous !== undefined) await server.unload(name, previous).catch(() => undefined);
    logger.info({ model: name, alias, version, previous, fallback: fallback?.version }, 'serving version');
    process.stderr.write(
      `now serving ${name}@${alias} = v${version}${previous ? ` (was v${previous})` : ''}${
        fallback ? `, fallback ${fallback.version}` : ''
      }\n`,
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
