/**
 * The three LakeStores the ingest fault tests run on, each as the config an `ingest-child.ts`
 * opens and a way to open it in the test: the embedded local lake, lakeFS (`bash scripts/services
 * up lakefs`) and plain S3 on MinIO's unversioned bucket (`up minio`) — there "staged" objects are
 * live ones no commit marker holds, and overwritten objects have no old version to go back to.
 */
import { join } from 'node:path';
import { LakeFsClient, lakefsLake } from '@vigil/adapter-lakefs';
import { lakefsTestNamespace, requireLakeFs } from '@vigil/adapter-lakefs/testing';
import { localLake } from '@vigil/adapter-local-lake';
import { s3Lake } from '@vigil/adapter-s3';
import {
  adminClient,
  ensurePlainBucket,
  freshPrefix,
  minio,
  PLAIN_BUCKET,
  removePrefix,
  requireMinio,
} from '@vigil/adapter-s3/testing';
import type { ComponentContext, LakeStore } from '@vigil/core';
import type { ChildLake } from './ingest-child.js';

export type LakeKind = ChildLake['kind'];
export const LAKE_KINDS: LakeKind[] = ['local', 'lakefs', 's3'];

export interface IngestLake {
  spec: ChildLake;
  open(ctx: ComponentContext): Promise<LakeStore>;
  cleanup(): Promise<void>;
}

export async function ingestLake(kind: LakeKind, workdir: string, label: string): Promise<IngestLake> {
  if (kind === 'local') {
    const spec: ChildLake = { kind, dir: join(workdir, 'lake') };
    return {
      spec,
      open: (ctx) => localLake.create(localLake.config.parse({ dir: spec.dir }), ctx),
      cleanup: async () => {},
    };
  }
  if (kind === 's3') {
    await requireMinio();
    const admin = adminClient();
    await ensurePlainBucket(admin);
    const prefix = freshPrefix(label);
    const config = {
      endpoint: minio.endpoint,
      region: minio.region,
      forcePathStyle: true,
      accessKeyId: minio.accessKeyId,
      secretAccessKey: minio.secretAccessKey,
      bucket: PLAIN_BUCKET,
      prefix,
    };
    return {
      spec: { kind, config },
      open: (ctx) => s3Lake.create(s3Lake.config.parse(config), ctx),
      cleanup: async () => {
        await removePrefix(admin, PLAIN_BUCKET, prefix);
        admin.destroy();
      },
    };
  }
  const server = await requireLakeFs();
  const repository = `${label}-${process.pid}-${Date.now().toString(36)}`;
  const config = {
    ...server,
    repository,
    createRepository: true,
    storageNamespace: lakefsTestNamespace(`vigil-faults/${repository}`),
  };
  return {
    spec: { kind, config },
    open: (ctx) => lakefsLake.create(lakefsLake.config.parse(config), ctx),
    cleanup: async () => {
      await new LakeFsClient(server)
        .send('DELETE', `/repositories/${repository}`, { query: { force: true } })
        .catch(() => undefined);
    },
  };
}
