import type { Registry } from '@vigil/core';
import type { RegistryFixture } from '@vigil/core/testing';
import {
  adapterFixture,
  checkContract,
  createTestContext,
  describeContract,
  registryContract,
} from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { fileRegistry } from './file-registry-adapter.js';

async function fixture(wrap: (registry: Registry) => Registry = (r) => r): Promise<RegistryFixture> {
  return adapterFixture(fileRegistry, fileRegistry.config.parse({}), await createTestContext(), { wrap });
}

describeContract(registryContract, 'file', () => fixture());

/** The real registry with one injected bug: artifacts pass through a UTF-8 string. */
function lossyArtifacts(registry: Registry): Registry {
  return new Proxy(registry, {
    get(target, property) {
      if (property === 'getArtifact') {
        return async (runId: string, path: string) =>
          new TextEncoder().encode(new TextDecoder().decode(await target.getArtifact(runId, path)));
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('registry contract catches a broken file registry', () => {
  it('fails only the artifact case when artifacts are decoded as text', async () => {
    const report = await checkContract(registryContract, () => fixture(lossyArtifacts));
    expect(report.failed.map((f) => f.name)).toEqual(['artifacts round-trip binary data']);
    expect(report.passed).toHaveLength(registryContract.cases.length - 1);
  });
});
