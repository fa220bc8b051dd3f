import { isAbsolute, resolve } from 'node:path';
import { defaultRegistryCapabilities, defineAdapter } from '@vigil/core';
import { z } from 'zod';
import { FileRegistry } from './file-registry.js';

const relativeDir = z
  .string()
  .min(1)
  .refine((dir) => !isAbsolute(dir) && !dir.split(/[\\/]/).includes('..'), {
    message: 'must be a relative path inside the workdir (no leading / and no ..)',
  });

/**
 * The embedded Registry: runs, params, metric histories, artifacts, registered models,
 * versions and aliases in plain files under `<workdir>/<dir>`, in MLflow's vocabulary.
 */
export const fileRegistry = defineAdapter({
  port: 'registry',
  name: 'file',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'File-based registry (MLflow semantics): runs, params, metric history, artifacts, models, versions, aliases.',
  config: z.strictObject({
    dir: relativeDir
      .default('registry')
      .describe('Folder under the workdir holding experiments/ and models/ (like MLflow mlruns).'),
    lockTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('How long to wait for another process holding the lock on a run or model, in ms.'),
  }),
  capabilities: { ...defaultRegistryCapabilities, artifacts: true, runFilters: false },
  async create(config, ctx) {
    return new FileRegistry({
      root: resolve(ctx.workdir, config.dir),
      capabilities: { ...defaultRegistryCapabilities, artifacts: true, runFilters: false },
      lockTimeoutMs: config.lockTimeoutMs,
    });
  },
});
