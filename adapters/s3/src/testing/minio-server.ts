/**
 * Access to the MinIO that `bash scripts/services up minio` runs on 127.0.0.1, for tests and
 * benchmarks. The credentials are the fixed test-only values of scripts/services.d/30-minio.sh;
 * every value can be overridden with the same VIGIL_S3_* variables the script reads.
 */
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';

export const minio = {
  endpoint: process.env.VIGIL_S3_ENDPOINT ?? `http://127.0.0.1:${process.env.VIGIL_MINIO_PORT ?? '9000'}`,
  accessKeyId: process.env.VIGIL_S3_ACCESS_KEY_ID ?? 'vigil-test',
  secretAccessKey: process.env.VIGIL_S3_SECRET_ACCESS_KEY ?? 'vigil-test-secret',
  region: 'us-east-1',
};

/** Bucket with versioning enabled (created by the adapter's createBucket). */
export const VERSIONED_BUCKET = 'vigil-test-lake';
/** Bucket without versioning (created here, never versioned). */
export const PLAIN_BUCKET = 'vigil-test-lake-plain';

let reachable: Promise<void> | undefined;

/** Fails with the command to run when MinIO does not answer. */
export function requireMinio(): Promise<void> {
  reachable ??= (async () => {
    const url = `${minio.endpoint}/minio/health/ready`;
    let problem: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (response.ok) return;
      problem = `HTTP ${response.status}`;
    } catch (error) {
      problem = String((error as Error).cause ?? error);
    }
    throw new Error(
      `MinIO is not reachable at ${url} (${problem}); start it with: bash scripts/services up minio`,
    );
  })();
  return reachable;
}

export function adminClient(): S3Client {
  return new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
  });
}

let counter = 0;
/** A prefix no other test (in this or a parallel run) uses. */
export function freshPrefix(label: string): string {
  return `t/${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

/** Make sure the plain (unversioned) bucket exists. */
export async function ensurePlainBucket(client: S3Client): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: PLAIN_BUCKET }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: PLAIN_BUCKET })).catch((error: unknown) => {
      if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw error;
    });
    await client.send(
      new PutBucketVersioningCommand({
        Bucket: PLAIN_BUCKET,
        VersioningConfiguration: { Status: 'Suspended' },
      }),
    );
  }
}

/** Delete every object version and delete marker under `prefix`. */
export async function removePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key,
      VersionId: v.VersionId,
    }));
    if (objects.length === 0) return;
    await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
    );
  }
}
