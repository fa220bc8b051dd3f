import type { LakeStore } from '@vigil/core';
import {
  adapterFixture,
  checkContract,
  createTestContext,
  describeContract,
  type LakeStoreFixture,
  lakeStoreContract,
} from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { localLake } from './local-lake.js';

async function localFixture(
  wrap: (lake: LakeStore) => LakeStore = (lake) => lake,
): Promise<LakeStoreFixture> {
  return adapterFixture(localLake, localLake.config.parse({}), await createTestContext(), { wrap });
}

describeContract(lakeStoreContract, 'local', () => localFixture());

/** The real store with one injected bug: a merge takes the source's side of every conflicting path. */
function overwritingMerge(lake: LakeStore): LakeStore {
  return new Proxy(lake, {
    get(target, key) {
      if (key !== 'merge') {
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (source: string, into: string, options?: { message?: string }) => {
        try {
          return await target.merge(source, into, options);
        } catch {
          for (const { path } of await target.diff(into, source)) {
            const data = await target.get(source, path);
            if (data === null) await target.delete(into, path);
            else await target.put(into, path, data);
          }
          return target.commit(into, options?.message ?? 'merge', { allowEmpty: true });
        }
      };
    },
  });
}

describe('lake-store contract catches a local lake with an injected bug', () => {
  it('a merge that silently overwrites conflicts fails the conflict case only', async () => {
    const report = await checkContract(lakeStoreContract, () => localFixture(overwritingMerge));
    expect(report.failed.map((f) => f.name)).toEqual([
      'merge of a path changed differently on both sides is a conflict naming the path; into is untouched',
    ]);
    expect(report.skipped).toEqual([]);
  });
});
