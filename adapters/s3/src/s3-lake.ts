import { defineAdapter, VigilError } from '@vigil/core';
import { z } from 'zod';
import { lakeRoot } from './paths/object-path.js';
import { describeS3Error, isNotFound } from './s3/s3-errors.js';
import { S3LakeStore } from './s3-lake-store.js';

const config = z
  .strictObject({
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 of a-z, 0-9, ".", "-")')
      .describe('Bucket that holds the lake.'),
    prefix: z
      .string()
      .default('')
      .refine((p) => !p.startsWith('/'), 'must not start with "/"')
      .describe('Key prefix the lake lives under, e.g. "lakes/trial-7". Default "" (the bucket root).'),
    endpoint: z
      .url()
      .optional()
      .describe('S3 endpoint URL, e.g. "http://127.0.0.1:9000" for MinIO. Default: AWS S3 of `region`.'),
    region: z.string().min(1).default('us-east-1').describe('Region of the bucket. Default "us-east-1".'),
    forcePathStyle: z
      .boolean()
      .default(false)
      .describe(
        'Path-style URLs (http://host/bucket/key) instead of bucket subdomains; true for MinIO. Default false.',
      ),
    accessKeyId: z
      .string()
      .min(1)
      .optional()
      .describe(
        `Access key id. Give it as a "\${env:NAME}" reference, never inline. Omitted: the AWS SDK default credential chain.`,
      ),
    secretAccessKey: z
      .string()
      .min(1)
      .optional()
      .describe(`Secret access key, as a "\${env:NAME}" reference. Required when accessKeyId is set.`),
    defaultBranch: z
      .string()
      .min(1)
      .default('main')
      .describe('Name of the one branch (the live objects under the prefix). Default "main".'),
    createBucket: z
      .boolean()
      .default(false)
      .describe('Create the bucket, with versioning enabled, when it does not exist. Default false.'),
  })
  .superRefine((value, ctx) => {
    if ((value.accessKeyId === undefined) !== (value.secretAccessKey === undefined)) {
      const missing = value.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: 'accessKeyId and secretAccessKey must be given together (or both omitted)',
      });
    }
  });

/**
 * LakeStore on plain S3 (AWS SDK v3), e.g. MinIO: objects visible at once, commits as marker
 * objects with a manifest, log newest first. No branches, merge or revert (use lakeFS for
 * those); no direct reads (readers copy objects with `get`).
 */
export const s3Lake = defineAdapter({
  port: 'lake-store',
  name: 's3',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Plain S3 / MinIO lake: put visible at once, commit markers with object manifests (pinned versions on versioned buckets); no branches',
  config,
  capabilities: { branching: false, merge: false, revert: false, directRead: false },
  async create(cfg, ctx) {
    const sdk = await import('@aws-sdk/client-s3');
    const client = new sdk.S3Client({
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      ...(cfg.endpoint === undefined ? {} : { endpoint: cfg.endpoint }),
      ...(cfg.accessKeyId === undefined || cfg.secretAccessKey === undefined
        ? {}
        : { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } }),
    });
    const where = `bucket '${cfg.bucket}' at ${cfg.endpoint ?? `AWS S3 (${cfg.region})`}`;
    try {
      try {
        await client.send(new sdk.HeadBucketCommand({ Bucket: cfg.bucket }));
      } catch (error) {
        if (!isNotFound(error)) {
          throw new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `cannot open ${where} (check endpoint, region and credentials): ${describeS3Error(error)}`,
            { cause: error },
          );
        }
        if (!cfg.createBucket) {
          throw new VigilError(
            'VIGIL_LAKE_NOT_FOUND',
            `${where} does not exist; create it or set createBucket: true`,
            { details: { field: 'bucket' } },
          );
        }
        await client.send(new sdk.CreateBucketCommand({ Bucket: cfg.bucket }));
        await client.send(
          new sdk.PutBucketVersioningCommand({
            Bucket: cfg.bucket,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        );
        ctx.logger.info({ bucket: cfg.bucket }, 'created S3 bucket with versioning');
      }
      const versioning = await client.send(new sdk.GetBucketVersioningCommand({ Bucket: cfg.bucket }));
      const versioned = versioning.Status === 'Enabled';
      const lake = await S3LakeStore.open({
        sdk,
        client,
        bucket: cfg.bucket,
        root: lakeRoot(cfg.prefix),
        defaultBranch: cfg.defaultBranch,
        versioned,
      });
      ctx.logger.debug({ bucket: cfg.bucket, prefix: cfg.prefix, versioned }, 's3 lake opened');
      return lake;
    } catch (error) {
      client.destroy();
      if (error instanceof VigilError) throw error;
      throw new VigilError('VIGIL_COMPONENT_FAILED', `cannot open ${where}: ${describeS3Error(error)}`, {
        cause: error,
      });
    }
  },
});
