import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onLakeBranch } from './lake-branch.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));

describe('onLakeBranch', () => {
  let dir: string;
  let lake: LocalLakeStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-lake-branch-'));
    lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
  });
  afterEach(async () => {
    await lake.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A layer step: write `files` on a branch from `from`, merged into main like the medallion steps. */
  const layer = (name: string, from: string, runId: string, files: Record<string, string>) =>
    onLakeBranch(lake, { name, from, message: `${name} layer`, runId }, async (branch) => {
      for (const [path, content] of Object.entries(files)) await lake.put(branch, path, bytes(content));
    });

  /** ingest → silver → gold → features on main, each layer on a branch from the previous one's commit. */
  async function firstRun() {
    await lake.put('main', 'bronze/events.jsonl', bytes('events'));
    const ingest = (await lake.commit('main', 'ingest')).id;
    const silver = await layer('silver', ingest, 'run-1', {
      'silver/vitals/part-0.parquet': 'vitals v1',
      'quarantine/silver/part-0.parquet': 'quarantine v1',
    });
    const gold = await layer('gold', silver, 'run-1', {
      'gold/patients/part-0.parquet': 'patients (id, arm)',
      'gold/outcomes/part-0.parquet': 'outcomes',
    });
    const features = await layer('features', gold, 'run-1', { 'features/hr_24h/part-0.parquet': 'hr 24h' });
    return { ingest, silver, gold, features };
  }

  it('reruns a layer whose output changed from the cached previous layer: merges cleanly, main holds the new output', async () => {
    const first = await firstRun();
    expect(await lake.resolve('main')).toBe(first.features);

    // The gold step's definition changed (gold gained a column): it reruns from the cached
    // silver commit, which predates gold on main, so both sides changed the gold paths.
    const gold = await layer('gold', first.silver, 'run-2', {
      'gold/patients/part-0.parquet': 'patients (id, arm, site)',
      'gold/outcomes/part-0.parquet': 'outcomes',
    });

    expect(await lake.resolve('main')).toBe(gold);
    const merge = (await lake.log('main', { limit: 1 }))[0]!;
    expect(merge.parents).toEqual([first.features, expect.any(String)]);
    expect(merge.message).toBe('gold layer (run run-2)');
    expect(text(await lake.get('main', 'gold/patients/part-0.parquet'))).toBe('patients (id, arm, site)');
    expect(text(await lake.get('main', 'gold/outcomes/part-0.parquet'))).toBe('outcomes');
    // What main gained elsewhere since the silver commit is kept.
    expect(text(await lake.get('main', 'features/hr_24h/part-0.parquet'))).toBe('hr 24h');
    expect(text(await lake.get('main', 'silver/vitals/part-0.parquet'))).toBe('vitals v1');
    expect(await lake.diff(first.features, gold)).toEqual([
      { path: 'gold/patients/part-0.parquet', type: 'changed' },
    ]);
    expect((await lake.listBranches()).map((b) => b.name)).toEqual(['main']);
  });

  it('reruns silver with changed output from the cached ingest commit the same way', async () => {
    const first = await firstRun();
    const silver = await layer('silver', first.ingest, 'run-2', {
      'silver/vitals/part-0.parquet': 'vitals v2 (stricter expectations)',
      'quarantine/silver/part-0.parquet': 'quarantine v2',
    });
    expect(await lake.resolve('main')).toBe(silver);
    expect(text(await lake.get('main', 'silver/vitals/part-0.parquet'))).toBe(
      'vitals v2 (stricter expectations)',
    );
    expect(text(await lake.get('main', 'quarantine/silver/part-0.parquet'))).toBe('quarantine v2');
    expect(text(await lake.get('main', 'gold/patients/part-0.parquet'))).toBe('patients (id, arm)');
  });

  it('a failing layer deletes its branch and leaves main untouched', async () => {
    const first = await firstRun();
    const failed = onLakeBranch(
      lake,
      { name: 'gold', from: first.silver, message: 'gold layer', runId: 'run-3' },
      async (branch) => {
        await lake.put(branch, 'gold/patients/part-0.parquet', bytes('half written'));
        throw new Error('transform failed');
      },
    );
    await expect(failed).rejects.toThrow('transform failed');
    expect(await lake.resolve('main')).toBe(first.features);
    expect(text(await lake.get('main', 'gold/patients/part-0.parquet'))).toBe('patients (id, arm)');
    expect((await lake.listBranches()).map((b) => b.name)).toEqual(['main']);
  });
});
