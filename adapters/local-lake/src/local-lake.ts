import { isAbsolute, join } from 'node:path';
import { defineAdapter } from '@vigil/core';
import { z } from 'zod';
import { LocalLakeStore } from './local-lake-store.js';
import { branchNameProblem } from './refs/branch-name.js';

const branchName = z.string().superRefine((value, ctx) => {
  const problem = branchNameProblem(value);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: `not a valid branch name: ${problem}` });
});

/** The embedded LakeStore: a versioned lake of content-addressed objects under the run's workdir. */
export const localLake = defineAdapter({
  port: 'lake-store',
  name: 'local',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Embedded versioned lake: content-addressed objects, branches, atomic commits, merge and revert',
  config: z.strictObject({
    dir: z
      .string()
      .min(1)
      .default('lake')
      .describe('Folder of the lake, relative to the run workdir (or absolute). Default "lake".'),
    defaultBranch: branchName
      .default('main')
      .describe('Branch created with the lake and protected from deletion. Default "main".'),
  }),
  capabilities: { branching: true, merge: true, revert: true, directRead: true },
  async create(config, ctx) {
    const root = isAbsolute(config.dir) ? config.dir : join(ctx.workdir, config.dir);
    return LocalLakeStore.open({ root, defaultBranch: config.defaultBranch });
  },
});
