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
import { mlflowRegistry } from './mlflow-adapter.js';
import { requireMlflow } from './testing/index.js';

// Fails the file with "Start it with: bash scripts/services up mlflow" when MLflow is down.
const server = await requireMlflow();

/**
 * A registry over the real server. The cases use unique experiment and model names, so they
 * share the server's one store; reopen is a second adapter instance over the same server.
 */
async function fixture(wrap: (registry: Registry) => Registry = (r) => r): Promise<RegistryFixture> {
  const config = mlflowRegistry.config.parse({ trackingUri: server.trackingUri });
  return adapterFixture(mlflowRegistry, config, await createTestContext(), { wrap });
}

describeContract(registryContract, 'mlflow', () => fixture());

/** The real adapter with one injected bug: moving an alias leaves the old version holding it. */
function stickyAliases(registry: Registry): Registry {
  return withOverrides(registry, (real) => ({
    getModelVersion: async (name, version) => {
      const v = await real.getModelVersion(name, version);
      return version === '1' && !v.aliases.includes('champion')
        ? { ...v, aliases: [...v.aliases, 'champion'] }
        : v;
    },
  }));
}

describe('registry contract catches a broken MLflow registry', () => {
  it('a moved alias that sticks to the old version fails the alias case, not the versions case', async () => {
    const cases = {
      ...registryContract,
      cases: registryContract.cases.filter((c) => /^(aliases|registered models)/.test(c.name)),
    };
    expect(cases.cases).toHaveLength(2);
    const report = await checkContract(cases, () => fixture(stickyAliases), { timeoutMs: 60_000 });
    expect(report.failed.map((f) => f.name)).toEqual(['aliases can be set, moved, read and deleted']);
    expect(report.passed).toHaveLength(1);
  });
});
