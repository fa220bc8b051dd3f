import type { Registry } from '@vigil/core';
import type { RegistryFixture } from '@vigil/core/testing';
import {
  adapterFixture,
  checkContract,
  createTestContext,
  describeContract,
  registryContract,
  withOverrides,
} from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { fileRegistry } from './file-registry-adapter.js';

async function fixture(wrap: (registry: Registry) => Registry = (r) => r): Promise<RegistryFixture> {
  return adapterFixture(fileRegistry, fileRegistry.config.parse({}), await createTestContext(), { wrap });
}

describeContract(registryContract, 'file', () => fixture());

/** The real registry with one injected bug: artifacts pass through a UTF-8 string. */
function lossyArtifacts(registry: Registry): Registry {
  return withOverrides(registry, (real) => ({
    getArtifact: async (runId, path) =>
      new TextEncoder().encode(new TextDecoder().decode(await real.getArtifact(runId, path))),
  }));
}

describe('registry contract catches a broken file registry', () => {
  it('fails only the artifact case when artifacts are decoded as text', async () => {
    const report = await checkContract(registryContract, () => fixture(lossyArtifacts));
    expect(report.failed.map((f) => f.name)).toEqual(['artifacts round-trip binary data']);
    expect(report.passed).toHaveLength(registryContract.cases.length - 1);
  });
});
