import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import {
  createLogger,
  currentChampion,
  Kernel,
  listVersions,
  promote,
  type Registry,
  rollback,
  VigilError,
} from '@vigil/core';
import { createCliKernel, modelName } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';

export interface ModelsOptions extends ConfigOverrides {
  config?: string;
  model?: string;
  json?: boolean;
  to?: string;
  reason?: string;
}

/** Open the configured Registry alone and run `work` on it. */
async function withRegistry<T>(
  options: ModelsOptions,
  work: (registry: Registry, name: string) => Promise<T>,
): Promise<T> {
  const components = createDefaultRegistry();
  const config = await resolveConfig(components, options.config, options);
  const name = modelName(components, config, options.model);
  const kernel = createCliKernel(components, config);
  try {
    await kernel.start({ ports: ['registry'] });
    return await work(kernel.port('registry'), name);
  } finally {
    await kernel.close();
  }
}

const operator = () => {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
};

/** `vigil models list`: every version with its aliases, gate decision and metrics. */
export async function modelsListCommand(options: ModelsOptions): Promise<number> {
  return withRegistry(options, async (registry, name) => {
    const versions = await listVersions(registry, name);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ model: name, versions })}\n`);
      return 0;
    }
    process.stdout.write(`${name}: ${versions.length} version(s)\n`);
    for (const v of versions) {
      const auroc = v.metrics.test_auroc;
      process.stdout.write(
        `  v${v.version.padEnd(4)} ${(v.aliases.join(',') || '-').padEnd(10)} test AUROC ${auroc === undefined ? 'n/a' : auroc.toFixed(4)}  gate ${v.gate ?? '-'}  created ${v.createdAt}${v.championSince ? `  champion since ${v.championSince}` : ''}\n`,
      );
    }
    return 0;
  });
}

/** `vigil models show VERSION`. */
export async function modelsShowCommand(version: string, options: ModelsOptions): Promise<number> {
  return withRegistry(options, async (registry, name) => {
    const found = (await listVersions(registry, name)).find((v) => v.version === version);
    if (!found) throw new VigilError('VIGIL_REGISTRY_NOT_FOUND', `'${name}' has no version ${version}`);
    process.stdout.write(
      `${JSON.stringify({ model: name, ...found }, null, options.json ? undefined : 2)}\n`,
    );
    return 0;
  });
}

/** `vigil models promote VERSION --reason TEXT`: move the champion alias by hand (recorded on the version). */
export async function modelsPromoteCommand(version: string, options: ModelsOptions): Promise<number> {
  if (!options.reason)
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      '--reason is required: say why this version is promoted by hand',
    );
  return withRegistry(options, async (registry, name) => {
    const before = await currentChampion(registry, name);
    await promote(registry, name, version, {
      'vigil.gate.decision': 'manual',
      'vigil.promote.by': operator(),
      'vigil.promote.reason': options.reason!,
    });
    process.stdout.write(`${name}: champion v${before?.version ?? '-'} → v${version}\n`);
    return 0;
  });
}

/** `vigil models rollback [--to VERSION]`: bring back the previous (or a named) one of the last 5 champions. */
export async function modelsRollbackCommand(options: ModelsOptions): Promise<number> {
  return withRegistry(options, async (registry, name) => {
    const began = performance.now();
    const moved = await rollback(registry, name, {
      ...(options.to ? { to: options.to } : {}),
      by: operator(),
    });
    const ms = performance.now() - began;
    if (options.json) process.stdout.write(`${JSON.stringify({ model: name, ...moved, ms })}\n`);
    else
      process.stdout.write(`${name}: champion v${moved.from ?? '-'} → v${moved.to} (${ms.toFixed(0)} ms)\n`);
    return 0;
  });
}
