import type { LakeStore } from '@vigil/core';
import {
  adapterFixture,
  checkContract,
  createTestContext,
  describeContract,
  type LakeStoreFixture,
  lakeStoreContract,
  withOverwritingMerge,
} from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { LakeFsClient } from './client/lakefs-client.js';
import { lakefsLake } from './lakefs.js';
import { lakefsTestNamespace, requireLakeFs } from './testing/index.js';

// Fails the file with "Start it with: bash scripts/services up lakefs" when lakeFS is down.
const server = await requireLakeFs();
const admin = new LakeFsClient(server);
let repositories = 0;

/** A fresh lakeFS repository per case; reopen is a second client of the same repository. */
async function lakefsFixture(
  wrap: (lake: LakeStore) => LakeStore = (lake) => lake,
): Promise<LakeStoreFixture> {
  const ctx = await createTestContext();
  const repository = `vigil-ct-${process.pid}-${Date.now().toString(36)}-${++repositories}`;
  const config = lakefsLake.config.parse({
    ...server,
    repository,
    createRepository: true,
    storageNamespace: lakefsTestNamespace(`vigil-contract/${repository}`),
  });
  const lakes = await adapterFixture(lakefsLake, config, ctx, { wrap });
  return {
    ...lakes,
    async cleanup() {
      await lakes.cleanup();
      await admin.send('DELETE', `/repositories/${repository}`, { query: { force: true } });
    },
  };
}

describeContract(lakeStoreContract, 'lakefs', () => lakefsFixture());

describe('lake-store contract catches a lakeFS store with an injected bug', () => {
  it('a merge that silently overwrites conflicts fails the conflict case, not the other merge cases', async () => {
    const mergeCases = {
      ...lakeStoreContract,
      cases: lakeStoreContract.cases.filter((c) => c.name.startsWith('merge')),
    };
    expect(mergeCases.cases).toHaveLength(5);
    const report = await checkContract(mergeCases, () => lakefsFixture(withOverwritingMerge));
    expect(report.failed.map((f) => f.name)).toEqual([
      'merge of a path changed differently on both sides is a conflict naming the path; into is untouched',
    ]);
    expect(report.passed).toHaveLength(4);
  });
});
