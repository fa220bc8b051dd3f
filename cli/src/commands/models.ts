import { userInfo } from 'node:os';
import {
  CHALLENGER,
  currentChampion,
  listVersions,
  promote,
  type Registry,
  rollback,
  VigilError,
} from '@vigil/core';
import { createCliKernel, modelName } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';
import { CANARY_TAG } from './serve-canary.js';

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
        `  v${v.version.padEnd(4)} ${(v.aliases.join(',') || '-').padEnd(10)} test AUROC ${auroc === undefined ? 'n/a' : auroc.toFixed(4)}  gate ${v.gate ?? '-'}${v.tags[CANARY_TAG.decision] ? `  canary ${v.tags[CANARY_TAG.decision]}` : ''}  created ${v.createdAt}${v.championSince ? `  champion since ${v.championSince}` : ''}\n`,
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

/**
 * `vigil models canary VERSION --reason TEXT`: point the `challenger` alias at a version (who,
 * why and when recorded on it). A running `vigil serve` with the rollout plugin configured
 * loads it beside the champion and runs its canary; the canary, not this command, decides
 * whether it becomes champion.
 */
export async function modelsCanaryCommand(version: string, options: ModelsOptions): Promise<number> {
  if (!options.reason)
    throw new VigilError('VIGIL_CONFIG_INVALID', '--reason is required: say why this version is canaried');
  return withRegistry(options, async (registry, name) => {
    await registry.getModelVersion(name, version);
    const champion = await currentChampion(registry, name);
    if (!champion)
      throw new VigilError(
        'VIGIL_REGISTRY_INVALID_REQUEST',
        `'${name}' has no champion for v${version} to be compared with: promote one first`,
      );
    if (champion.version === version)
      throw new VigilError(
        'VIGIL_REGISTRY_INVALID_REQUEST',
        `v${version} is already the champion of '${name}'`,
      );
    for (const [key, value] of Object.entries({
      [CANARY_TAG.requestedAt]: new Date().toISOString(),
      [CANARY_TAG.requestedBy]: operator(),
      [CANARY_TAG.requestReason]: options.reason!,
    }))
      await registry.setModelVersionTag(name, version, key, value);
    await registry.setAlias(name, CHALLENGER, version);
    process.stdout.write(
      `${name}: challenger v${version} beside champion v${champion.version}; a running \`vigil serve\` with the rollout plugin runs its canary\n`,
    );
    return 0;
  });
}
