import type { LakeStore } from '@vigil/core';
import { checkContract, describeContract, lakeStoreContract, withOverrides } from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { PLAIN_BUCKET, s3Fixture, VERSIONED_BUCKET } from './testing/minio.js';

// Cases that need branches, merge, revert or direct reads are skipped by their `requires`.
describeContract(lakeStoreContract, 's3 on MinIO, versioned bucket', () => s3Fixture(VERSIONED_BUCKET));
describeContract(lakeStoreContract, 's3 on MinIO, bucket without versioning', () => s3Fixture(PLAIN_BUCKET));

/** The real store with one injected bug: commit never refuses an empty commit. */
function alwaysAllowEmpty(lake: LakeStore): LakeStore {
  return withOverrides(lake, (real) => ({
    commit: (branch, message, options) => real.commit(branch, message, { ...options, allowEmpty: true }),
  }));
}

describe('lake-store contract catches an s3 lake with an injected bug', () => {
  it('a commit that never reports no-changes fails the no-changes case only', async () => {
    const report = await checkContract(lakeStoreContract, () =>
      s3Fixture(VERSIONED_BUCKET, alwaysAllowEmpty),
    );
    expect(report.failed.map((f) => f.name)).toEqual([
      'commit with nothing staged fails with no-changes unless allowEmpty',
    ]);
    expect(report.passed.length).toBeGreaterThanOrEqual(9);
  }, 60_000);
});
