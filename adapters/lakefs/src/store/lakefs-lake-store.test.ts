import type { LakeStore } from '@vigil/core';
import { isVigilError } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakeFsClient } from '../client/lakefs-client.js';
import { lakefsLake } from '../lakefs.js';
import { lakefsTestNamespace, requireLakeFs } from '../testing/index.js';

// Fails the file with "Start it with: bash scripts/services up lakefs" when lakeFS is down.
const server = await requireLakeFs();
const admin = new LakeFsClient(server);
const repository = `vigil-unit-${process.pid}-${Date.now().toString(36)}`;
const encoder = new TextEncoder();
let lake: LakeStore;

async function open(overrides: Record<string, unknown> = {}): Promise<LakeStore> {
  const ctx = await createTestContext();
  try {
    return await lakefsLake.create(
      lakefsLake.config.parse({
        ...server,
        repository,
        createRepository: true,
        storageNamespace: lakefsTestNamespace(`vigil-unit/${repository}`),
        ...overrides,
      }),
      ctx,
    );
  } finally {
    await ctx.cleanup();
  }
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isVigilError(error)) throw new Error(`expected a VigilError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

beforeAll(async () => {
  lake = await open();
});

afterAll(async () => {
  await lake?.close();
  await admin
    .send('DELETE', `/repositories/${repository}`, { query: { force: true } })
    .catch(() => undefined);
});

describe('lakeFS LakeStore against a real lakeFS', () => {
  it('creates the repository with the configured default branch and an initial commit', async () => {
    const repo = await admin.json<{ default_branch: string; storage_namespace: string }>(
      'GET',
      `/repositories/${repository}`,
    );
    expect(repo).toMatchObject({
      default_branch: 'main',
      storage_namespace: lakefsTestNamespace(`vigil-unit/${repository}`),
    });
    expect((await lake.log('main')).map((c) => c.message)).toEqual(['Repository created']);
  });

  it('a missing repository without createRepository is not found and names the repository', async () => {
    const { code, message } = await failure(
      open({ repository: `${repository}-absent`, createRepository: false }),
    );
    expect(code).toBe('VIGIL_LAKE_NOT_FOUND');
    expect(message).toContain(`'${repository}-absent'`);
    expect(message).toContain('createRepository');
  });

  it('wrong credentials are refused with a message naming the keys, not the secret', async () => {
    const { code, message } = await failure(open({ secretAccessKey: 'not-the-secret' }));
    expect(code).toBe('VIGIL_COMPONENT_FAILED');
    expect(message).toContain('accessKeyId/secretAccessKey');
    expect(message).not.toContain('not-the-secret');
  });

  it('rejects branch names lakeFS cannot hold before calling it', async () => {
    const { code, message } = await failure(lake.createBranch('job/run-1', 'main'));
    expect(code).toBe('VIGIL_LAKE_INVALID_REQUEST');
    expect(message).toContain("'job/run-1'");
  });

  it('round-trips paths with spaces, unicode and query characters, and empty objects', async () => {
    const paths = ['odd/a b.txt', 'odd/ünï.csv', 'odd/q?x=1&y#z', 'odd/empty'];
    for (const path of paths) await lake.put('main', path, encoder.encode(path === 'odd/empty' ? '' : path));
    expect((await lake.list('main', 'odd/')).map((o) => o.path)).toEqual([...paths].sort());
    for (const path of paths) {
      expect(new TextDecoder().decode((await lake.get('main', path)) ?? undefined)).toBe(
        path === 'odd/empty' ? '' : path,
      );
    }
    expect((await lake.list('main', 'odd/empty'))[0]?.size).toBe(0);
  });

  it('locate is unsupported (directRead false) and names the path', async () => {
    const { code, message } = await failure(lake.locate('main', 'odd/empty'));
    expect(code).toBe('VIGIL_LAKE_UNSUPPORTED');
    expect(message).toContain("'odd/empty'");
  });

  it('a merge that has nothing new is up to date and returns the target head', async () => {
    await lake.put('main', 'base.txt', encoder.encode('b'));
    const head = (await lake.commit('main', 'base')).id;
    await lake.createBranch('same', 'main');
    const merged = await lake.merge('same', 'main');
    expect(merged.id).toBe(head);
    expect(await lake.resolve('main')).toBe(head);
    await lake.deleteBranch('same');
  });

  it("a merge with a strategy is lakeFS's own (recorded on the merge commit); an unknown strategy is refused before lakeFS", async () => {
    await lake.put('main', 'gold.parquet', encoder.encode('v1'));
    const base = (await lake.commit('main', 'gold v1')).id;
    await lake.createBranch('rerun', base);
    await lake.put('rerun', 'gold.parquet', encoder.encode('v3'));
    await lake.commit('rerun', 'gold v3');
    await lake.put('main', 'gold.parquet', encoder.encode('v2'));
    const head = (await lake.commit('main', 'gold v2')).id;
    const unknown = await failure(lake.merge('rerun', 'main', { strategy: 'theirs' as 'source-wins' }));
    expect(unknown.code).toBe('VIGIL_LAKE_INVALID_REQUEST');
    expect(unknown.message).toContain("strategy 'theirs'");
    expect(await lake.resolve('main')).toBe(head);
    const merged = await lake.merge('rerun', 'main', { strategy: 'source-wins' });
    expect(merged.metadata).toMatchObject({ mergeStrategy: 'source-wins' });
    expect(merged.parents).toContain(head);
    expect(new TextDecoder().decode((await lake.get('main', 'gold.parquet')) ?? undefined)).toBe('v3');
    await lake.deleteBranch('rerun');
  });

  it('log honours limit, including 0', async () => {
    for (let i = 0; i < 3; i++) await lake.commit('main', `empty ${i}`, { allowEmpty: true });
    expect((await lake.log('main', { limit: 3 })).map((c) => c.message)).toEqual([
      'empty 2',
      'empty 1',
      'empty 0',
    ]);
    expect(await lake.log('main', { limit: 0 })).toEqual([]);
  });

  it('a closed store refuses calls', async () => {
    const other = await open();
    await other.close();
    expect((await failure(other.resolve('main'))).code).toBe('VIGIL_KERNEL_CLOSED');
  });
});
