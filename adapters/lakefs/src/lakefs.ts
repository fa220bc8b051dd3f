import { defineAdapter } from '@vigil/core';
import { z } from 'zod';
import { LakeFsClient } from './client/lakefs-client.js';
import { LakeFsLakeStore } from './store/lakefs-lake-store.js';

/** LakeStore over a lakeFS repository (REST API v1): branches, atomic commits, merge, revert, diff, log. */
export const lakefsLake = defineAdapter({
  port: 'lake-store',
  name: 'lakefs',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'lakeFS repository through its REST API v1: staging is lakeFS uncommitted data; commits, merges and reverts are lakeFS commits',
  config: z
    .strictObject({
      endpoint: z
        .url({ protocol: /^https?$/ })
        .default('http://127.0.0.1:8000')
        .describe('Base URL of the lakeFS server (without /api/v1). Default "http://127.0.0.1:8000".'),
      repository: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]{2,62}$/, 'lowercase letters, digits and "-", 3 to 63 characters')
        .describe('Name of the lakeFS repository that holds the lake.'),
      storageNamespace: z
        .string()
        .regex(
          /^(s3|gs|https?|mem|local|transient):\/\/.+$/,
          'a storage URI such as s3://bucket/path or local://path',
        )
        .optional()
        .describe(
          'Where lakeFS stores the repository data (e.g. "s3://bucket/vigil"); needed with createRepository.',
        ),
      createRepository: z
        .boolean()
        .default(false)
        .describe('Create the repository (in storageNamespace) when it does not exist. Default false.'),
      accessKeyId: z
        .string()
        .min(1)
        .describe(`lakeFS access key id; pass a \${env:NAME} reference, never the literal key.`),
      secretAccessKey: z
        .string()
        .min(1)
        .describe(`lakeFS secret access key; pass a \${env:NAME} reference, never the literal key.`),
      defaultBranch: z
        .string()
        .regex(/^\w[-\w]*$/, 'letters, digits, "_" and "-", not starting with "-"')
        .default('main')
        .describe('The repository default branch, protected from deletion. Default "main".'),
      requestAttempts: z
        .number()
        .int()
        .min(1)
        .max(20)
        .default(5)
        .describe('Attempts for requests lakeFS asks to retry (429, 503, a locked branch). Default 5.'),
    })
    .superRefine((config, ctx) => {
      if (config.createRepository && config.storageNamespace === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['storageNamespace'],
          message: 'storageNamespace is required when createRepository is true',
        });
      }
    }),
  capabilities: { branching: true, merge: true, revert: true, directRead: false },
  async create(config) {
    const client = new LakeFsClient({
      endpoint: config.endpoint,
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      attempts: config.requestAttempts,
    });
    return LakeFsLakeStore.open({
      client,
      repository: config.repository,
      defaultBranch: config.defaultBranch,
      ...(config.createRepository && config.storageNamespace !== undefined
        ? { create: { storageNamespace: config.storageNamespace } }
        : {}),
    });
  },
});
