import { GetBucketVersioningCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type LakeStore, VigilError } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMarker } from './commits/commit-marker.js';
import { s3Lake } from './s3-lake.js';
import {
  adminClient,
  ensurePlainBucket,
  freshPrefix,
  lakeConfig,
  minio,
  PLAIN_BUCKET,
  removePrefix,
  requireMinio,
  VERSIONED_BUCKET,
} from './testing/minio.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

async function rejectsWith(promise: Promise<unknown>, code: string, ...mentions: string[]) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VigilError);
  expect((error as VigilError).code).toBe(code);
  for (const m of mentions) expect((error as VigilError).message).toContain(m);
}

describe('s3 lake config', () => {
  it('needs both keys or neither, a valid bucket name and a relative prefix', () => {
    const issues = (input: Record<string, unknown>) => {
      const r = s3Lake.config.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(issues({ bucket: 'lake', accessKeyId: 'k' })).toEqual(['secretAccessKey']);
    expect(issues({ bucket: 'lake', secretAccessKey: 's' })).toEqual(['accessKeyId']);
    expect(issues({ bucket: 'Bad_Bucket' })).toEqual(['bucket']);
    expect(issues({ bucket: 'lake', prefix: '/abs' })).toEqual(['prefix']);
    expect(issues({ bucket: 'lake', endpoint: 'not a url' })).toEqual(['endpoint']);
    expect(issues({ bucket: 'lake', surprise: true })).toEqual(['']);
    const parsed = s3Lake.config.parse({ bucket: 'lake' });
    expect(parsed).toMatchObject({
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
      createBucket: false,
    });
    expect(parsed.accessKeyId).toBeUndefined();
  });

  it('declares no branching, merge, revert or direct reads', () => {
    expect(s3Lake.capabilities).toEqual({ branching: false, merge: false, revert: false, directRead: false });
  });
});

describe('s3 lake on MinIO', () => {
  let admin: S3Client;
  let ctx: TestContext;
  const prefixes: [string, string][] = [];
  const opened: LakeStore[] = [];

  async function open(bucket: string, prefix = freshPrefix('store'), extra: Record<string, unknown> = {}) {
    prefixes.push([bucket, prefix]);
    const lake = await s3Lake.create(lakeConfig(bucket, prefix, { createBucket: true, ...extra }), ctx);
    opened.push(lake);
    return { lake, prefix };
  }

  beforeAll(async () => {
    await requireMinio();
    admin = adminClient();
    await ensurePlainBucket(admin);
    ctx = await createTestContext();
  });

  afterAll(async () => {
    for (const lake of opened) await lake.close();
    for (const [bucket, prefix] of prefixes) await removePrefix(admin, bucket, prefix);
    admin?.destroy();
    await ctx?.cleanup();
  });

  it('on a versioned bucket, old commits keep their bytes after overwrites and deletes', async () => {
    const { lake } = await open(VERSIONED_BUCKET);
    await lake.put('main', 'a.csv', bytes('a1'));
    await lake.put('main', 'b.csv', bytes('b1'));
    const c1 = await lake.commit('main', 'one');
    await lake.put('main', 'a.csv', bytes('a2-longer'));
    await lake.delete('main', 'b.csv');
    const c2 = await lake.commit('main', 'two');
    expect(text(await lake.get(c1.id, 'a.csv'))).toBe('a1');
    expect(text(await lake.get(c1.id, 'b.csv'))).toBe('b1');
    expect((await lake.list(c1.id)).map((o) => [o.path, o.size])).toEqual([
      ['a.csv', 2],
      ['b.csv', 2],
    ]);
    expect(text(await lake.get(c2.id, 'a.csv'))).toBe('a2-longer');
    expect(await lake.get(c2.id, 'b.csv')).toBeNull();
    expect(await lake.diff(c1.id, c2.id)).toEqual([
      { path: 'a.csv', type: 'changed' },
      { path: 'b.csv', type: 'removed' },
    ]);
  });

  it('without versioning, reading a commit whose object changed since is not found (never the new bytes)', async () => {
    const { lake } = await open(PLAIN_BUCKET);
    await lake.put('main', 'a.csv', bytes('a1'));
    await lake.put('main', 'b.csv', bytes('b1'));
    const c1 = await lake.commit('main', 'one');
    await lake.put('main', 'a.csv', bytes('a2'));
    await lake.delete('main', 'b.csv');
    await rejectsWith(lake.get(c1.id, 'a.csv'), 'VIGIL_LAKE_NOT_FOUND', 'a.csv', 'versioning');
    await rejectsWith(lake.get(c1.id, 'b.csv'), 'VIGIL_LAKE_NOT_FOUND', 'b.csv');
    await lake.put('main', 'a.csv', bytes('a1'));
    expect(text(await lake.get(c1.id, 'a.csv')), 'same bytes again: the ETag matches').toBe('a1');
  });

  it('records each commit as a marker object with the manifest and the changes since the parent', async () => {
    const { lake, prefix } = await open(VERSIONED_BUCKET);
    const init = await lake.resolve('main');
    await lake.put('main', 'silver/x.parquet', bytes('xx'));
    const c1 = await lake.commit('main', 'silver', { metadata: { runId: 'r1' } });
    const out = await admin.send(
      new GetObjectCommand({ Bucket: VERSIONED_BUCKET, Key: `${prefix}/_vigil/commits/${c1.id}.json` }),
    );
    const marker = parseMarker(await out.Body!.transformToString());
    if (typeof marker === 'string') throw new Error(marker);
    expect(marker).toMatchObject({
      id: c1.id,
      parents: [init],
      message: 'silver',
      metadata: { runId: 'r1' },
    });
    expect(marker.objects).toEqual([
      { path: 'silver/x.parquet', size: 2, etag: expect.any(String), versionId: expect.any(String) },
    ]);
    expect(marker.changes).toEqual([{ path: 'silver/x.parquet', type: 'added' }]);
    expect(
      (await lake.list('main')).map((o) => o.path),
      'markers are not lake objects',
    ).toEqual(['silver/x.parquet']);
    await rejectsWith(
      lake.put('main', '_vigil/commits/x.json', bytes('x')),
      'VIGIL_LAKE_INVALID_REQUEST',
      '_vigil/',
    );
    expect((await lake.log('main')).map((c) => c.message)).toEqual(['silver', 'lake created']);
  });

  it('a second client sees the first one’s objects and commits; prefixes are separate lakes', async () => {
    const { lake: a, prefix } = await open(VERSIONED_BUCKET);
    const { lake: other } = await open(VERSIONED_BUCKET, `${prefix}x`);
    await a.put('main', 'p.txt', bytes('p'));
    const c = await a.commit('main', 'from a');
    const b = await s3Lake.create(lakeConfig(VERSIONED_BUCKET, prefix), ctx);
    opened.push(b);
    expect(await b.resolve('main')).toBe(c.id);
    expect(text(await b.get('main', 'p.txt'))).toBe('p');
    await b.put('main', 'q.txt', bytes('q'));
    const c2 = await b.commit('main', 'from b');
    expect(c2.parents).toEqual([c.id]);
    expect((await a.log('main', { limit: 1 }))[0]?.id).toBe(c2.id);
    expect(await other.list('main')).toEqual([]);
    expect((await other.log('main')).map((x) => x.message)).toEqual(['lake created']);
  });

  it('branch operations are unsupported and name the capability; other branch names do not exist', async () => {
    const { lake } = await open(VERSIONED_BUCKET);
    await rejectsWith(lake.createBranch('work', 'main'), 'VIGIL_LAKE_UNSUPPORTED', 'branching');
    await rejectsWith(lake.deleteBranch('work'), 'VIGIL_LAKE_UNSUPPORTED', 'branching');
    await rejectsWith(lake.merge('work', 'main'), 'VIGIL_LAKE_UNSUPPORTED', 'merge');
    await rejectsWith(lake.revert('main', await lake.resolve('main')), 'VIGIL_LAKE_UNSUPPORTED', 'revert');
    await rejectsWith(lake.locate('main', 'a'), 'VIGIL_LAKE_UNSUPPORTED', 'directRead');
    await rejectsWith(lake.put('work', 'a', bytes('a')), 'VIGIL_LAKE_NOT_FOUND', "'work'", 'no branching');
    await rejectsWith(lake.commit('work', 'm'), 'VIGIL_LAKE_NOT_FOUND', "'work'");
    expect(await lake.listBranches()).toEqual([{ name: 'main', commitId: await lake.resolve('main') }]);
  });

  it('a closed store refuses calls', async () => {
    const { lake } = await open(VERSIONED_BUCKET);
    await lake.close();
    await rejectsWith(lake.get('main', 'a'), 'VIGIL_KERNEL_CLOSED');
  });

  it('createBucket makes a versioned bucket; without it a missing bucket is named', async () => {
    const bucket = `vigil-test-new-${process.pid}-${Date.now().toString(36)}`;
    await rejectsWith(
      s3Lake.create(lakeConfig(bucket, 'p'), ctx),
      'VIGIL_LAKE_NOT_FOUND',
      bucket,
      'createBucket',
    );
    const lake = await s3Lake.create(lakeConfig(bucket, 'p', { createBucket: true }), ctx);
    const versioning = await admin.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    expect(versioning.Status).toBe('Enabled');
    await lake.put('main', 'a', bytes('a'));
    await lake.close();
    await removePrefix(admin, bucket, 'p');
    const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
  });

  it('wrong credentials and an unreachable endpoint fail with the bucket and the reason', async () => {
    await rejectsWith(
      s3Lake.create(lakeConfig(VERSIONED_BUCKET, 'p', { secretAccessKey: 'not-the-secret' }), ctx),
      'VIGIL_COMPONENT_FAILED',
      VERSIONED_BUCKET,
      '403',
    );
    await rejectsWith(
      s3Lake.create(lakeConfig(VERSIONED_BUCKET, 'p', { endpoint: 'http://127.0.0.1:1' }), ctx),
      'VIGIL_COMPONENT_FAILED',
      'http://127.0.0.1:1',
      'ECONNREFUSED',
    );
    expect(minio.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});
