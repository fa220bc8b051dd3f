import { championHistory, currentChampion, listVersions, promote, rollback } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { fileRegistry } from './index.js';

async function registryWith(versions: number) {
  const ctx = await createTestContext();
  const registry = await fileRegistry.create(fileRegistry.config.parse({}), ctx);
  await registry.createRegisteredModel('m');
  for (let i = 0; i < versions; i++) {
    const run = await registry.createRun({ experiment: 'e' });
    await registry.logMetrics(run.runId, [{ key: 'test_auroc', value: 0.7 + i / 100 }]);
    await registry.createModelVersion({ name: 'm', runId: run.runId, source: 'model/model.onnx' });
  }
  return { registry, ctx };
}

describe('champion alias on the file registry', () => {
  it('promotes, keeps the history, and rolls back to each of the last 5 champions', async () => {
    const { registry, ctx } = await registryWith(7);
    expect(await currentChampion(registry, 'm')).toBeUndefined();
    for (const v of ['1', '2', '3', '4', '5', '6', '7']) {
      await promote(registry, 'm', v, { 'vigil.gate.decision': 'promoted' });
      await new Promise((r) => setTimeout(r, 2));
    }
    expect((await championHistory(registry, 'm')).map((v) => v.version)).toEqual(['7', '6', '5', '4', '3']);
    expect(await rollback(registry, 'm')).toEqual({ from: '7', to: '6' });
    expect((await currentChampion(registry, 'm'))!.version).toBe('6');
    for (const to of ['3', '4', '5', '7']) {
      const began = performance.now();
      await rollback(registry, 'm', { to });
      expect(performance.now() - began).toBeLessThan(5000);
      expect((await currentChampion(registry, 'm'))!.version).toBe(to);
    }
    await expect(rollback(registry, 'm', { to: '1' })).rejects.toThrow(/not one of its last 5 champions/);
    const list = await listVersions(registry, 'm');
    expect(list.map((v) => v.version)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(list.find((v) => v.version === '7')!.aliases).toEqual(['champion']);
    expect(list.find((v) => v.version === '7')!.gate).toBe('rollback');
    expect(list[2]!.metrics.test_auroc).toBeCloseTo(0.72);
    await registry.close();
    await ctx.cleanup();
  });
});
