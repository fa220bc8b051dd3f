import type { Monitor } from '@vigil/core';
import type { MonitorFixture } from '@vigil/core/testing';
import {
  adapterFixture,
  checkContract,
  createTestContext,
  describeContract,
  monitorContract,
  withOverrides,
} from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { localMonitor } from './local-monitor-adapter.js';

async function fixture(wrap: (monitor: Monitor) => Monitor = (m) => m): Promise<MonitorFixture> {
  return adapterFixture(localMonitor, localMonitor.config.parse({}), await createTestContext(), { wrap });
}

describeContract(monitorContract, 'local', () => fixture());

/** The real monitor with one injected bug: its metrics text also lists the entity keys it saw. */
function leaksEntityKeys(monitor: Monitor): Monitor {
  const seen: string[] = [];
  return withOverrides(monitor, (real) => ({
    recordPredictions: (records) => {
      seen.push(...records.map((r) => r.entityKey));
      return real.recordPredictions(records);
    },
    metrics: async () =>
      `${await real.metrics()}${seen.map((key) => `vigil_last_entity{entity="${key}"} 1\n`).join('')}`,
  }));
}

describe('monitor contract catches a broken local monitor', () => {
  it('fails only the metrics case when entity keys leak into the metrics text', async () => {
    const report = await checkContract(monitorContract, () => fixture(leaksEntityKeys));
    expect(report.failed.map((f) => f.name)).toEqual([
      'metrics text has counters labelled by model and version, never an entity key',
    ]);
    expect(report.passed).toHaveLength(monitorContract.cases.length - 1);
  });
});
