import { isVigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { LakeFsClient } from './client/lakefs-client.js';
import { lakefsLake } from './lakefs.js';
import { codeFor } from './store/lake-error.js';

const credentials = { accessKeyId: 'AKIA-test', secretAccessKey: 'secret' };

describe('lakefs descriptor', () => {
  it('is a lake-store adapter named lakefs without direct reads', () => {
    expect(lakefsLake.port).toBe('lake-store');
    expect(lakefsLake.name).toBe('lakefs');
    expect(lakefsLake.capabilities).toEqual({
      branching: true,
      merge: true,
      revert: true,
      directRead: false,
    });
  });

  it('fills defaults for endpoint, defaultBranch and createRepository', () => {
    expect(lakefsLake.config.parse({ repository: 'vigil-lake', ...credentials })).toEqual({
      endpoint: 'http://127.0.0.1:8000',
      repository: 'vigil-lake',
      createRepository: false,
      defaultBranch: 'main',
      requestAttempts: 5,
      ...credentials,
    });
  });

  it('names each invalid field', () => {
    const result = lakefsLake.config.safeParse({
      repository: 'Vigil_Lake',
      endpoint: 'ftp://lakefs',
      defaultBranch: 'job/main',
      accessKeyId: '',
      secretAccessKey: 'x',
      extra: true,
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.') || i.message).sort();
    expect(paths).toEqual([
      'Unrecognized key: "extra"',
      'accessKeyId',
      'defaultBranch',
      'endpoint',
      'repository',
    ]);
  });

  it('requires storageNamespace when createRepository is true', () => {
    const result = lakefsLake.config.safeParse({
      repository: 'vigil-lake',
      createRepository: true,
      ...credentials,
    });
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['storageNamespace', 'storageNamespace is required when createRepository is true'],
    ]);
    expect(
      lakefsLake.config.safeParse({
        repository: 'vigil-lake',
        createRepository: true,
        storageNamespace: 'local://x',
        ...credentials,
      }).success,
    ).toBe(true);
  });
});

describe('lakeFS error mapping', () => {
  it('maps 404, 409 and "no changes" to the lake codes', () => {
    expect(codeFor(404, 'not found')).toBe('VIGIL_LAKE_NOT_FOUND');
    expect(codeFor(409, 'conflict found')).toBe('VIGIL_LAKE_CONFLICT');
    expect(codeFor(400, 'commit: no changes')).toBe('VIGIL_LAKE_NO_CHANGES');
    expect(codeFor(400, 'branch id: invalid value')).toBe('VIGIL_LAKE_INVALID_REQUEST');
    expect(codeFor(500, 'boom')).toBe('VIGIL_COMPONENT_FAILED');
  });

  it('reports an unreachable server with its address', async () => {
    const client = new LakeFsClient({ endpoint: 'http://127.0.0.1:1', ...credentials, attempts: 1 });
    const error = await client.request('GET', '/healthcheck').catch((e: unknown) => e);
    expect(isVigilError(error) && error.code).toBe('VIGIL_COMPONENT_FAILED');
    expect((error as Error).message).toContain('http://127.0.0.1:1/api/v1 is not reachable');
  });
});
