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
import { localLake } from './local-lake.js';

async function localFixture(
  wrap: (lake: LakeStore) => LakeStore = (lake) => lake,
): Promise<LakeStoreFixture> {
  return adapterFixture(localLake, localLake.config.parse({}), await createTestContext(), { wrap });
}

describeContract(lakeStoreContract, 'local', () => localFixture());

describe('lake-store contract catches a local lake with an injected bug', () => {
  it('a merge that silently overwrites conflicts fails the conflict case only', async () => {
    const report = await checkContract(lakeStoreContract, () => localFixture(withOverwritingMerge));
    expect(report.failed.map((f) => f.name)).toEqual([
      'merge of a path changed differently on both sides is a conflict naming the path; into is untouched',
    ]);
    expect(report.skipped).toEqual([]);
  });
});
