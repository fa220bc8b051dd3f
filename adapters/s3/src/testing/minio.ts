/** The s3 LakeStore contract fixture on the test MinIO (vitest only: it uses @vigil/core/testing). */
import type { LakeStore } from '@vigil/core';
import { adapterFixture, createTestContext, type LakeStoreFixture } from '@vigil/core/testing';
import { s3Lake } from '../s3-lake.js';
import {
  adminClient,
  ensurePlainBucket,
  freshPrefix,
  minio,
  PLAIN_BUCKET,
  removePrefix,
  requireMinio,
} from './minio-server.js';

export * from './minio-server.js';

/** Adapter config for a lake at `prefix` of `bucket` on the test MinIO. */
export function lakeConfig(bucket: string, prefix: string, extra: Record<string, unknown> = {}) {
  return s3Lake.config.parse({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    accessKeyId: minio.accessKeyId,
    secretAccessKey: minio.secretAccessKey,
    bucket,
    prefix,
    ...extra,
  });
}

/** A LakeStore fixture over a fresh prefix; `reopen` opens a second client on the same prefix. */
export async function s3Fixture(
  bucket: string,
  wrap: (lake: LakeStore) => LakeStore = (lake) => lake,
): Promise<LakeStoreFixture> {
  await requireMinio();
  const admin = adminClient();
  if (bucket === PLAIN_BUCKET) await ensurePlainBucket(admin);
  const prefix = freshPrefix('contract');
  const config = lakeConfig(bucket, prefix, { createBucket: true });
  const lakes = await adapterFixture(s3Lake, config, await createTestContext(), { wrap });
  return {
    ...lakes,
    async cleanup() {
      await lakes.cleanup();
      await removePrefix(admin, bucket, prefix);
      admin.destroy();
    },
  };
}
