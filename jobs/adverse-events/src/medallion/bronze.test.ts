import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BronzeRecord } from './bronze.js';
import { createMedallion, type Medallion } from './medallion.js';

const record = (partition: number, offset: number): BronzeRecord => ({
  topic: 'vitals',
  partition,
  offset: String(offset),
  key: 'site-01',
  value: JSON.stringify({
    siteId: 'site-01',
    observedAt: '2026-01-05T10:00:00Z',
    n: `${partition}/${offset}`,
  }),
  timestamp: Date.UTC(2026, 0, 5),
});

let dir: string;
let lake: LocalLakeStore;
let medallion: Medallion;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-bronze-'));
  lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
  medallion = await createMedallion({ lake, workdir: join(dir, 'work'), threads: 1 });
});

afterAll(async () => {
  await medallion?.close();
  await lake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('writeBronze', () => {
  it('keeps one copy of a record repeated within a batch, in or out of offset order', async () => {
    const batch = [
      record(0, 0),
      record(0, 1),
      record(1, 5),
      record(0, 1),
      record(0, 0),
      record(1, 4),
      record(1, 5),
    ];
    const written = await medallion.writeBronze('main', batch);
    expect({ rows: written.rows, skipped: written.skipped }).toEqual({ rows: 4, skipped: 3 });
    await lake.commit('main', 'first');
    // A redelivery overlapping the ledger's ranges, including an offset inside a range's gap.
    const again = await medallion.writeBronze('main', [
      record(0, 1),
      record(0, 2),
      record(1, 3),
      record(1, 4),
    ]);
    expect({ rows: again.rows, skipped: again.skipped }).toEqual({ rows: 2, skipped: 2 });
    await lake.commit('main', 'second');
  });

  it('adopts bronze staged without a ledger entry, so the redelivered records are skipped', async () => {
    const side = await LocalLakeStore.open({ root: join(dir, 'side'), defaultBranch: 'main' });
    const sideMedallion = await createMedallion({ lake: side, workdir: join(dir, 'side-work'), threads: 1 });
    const orphan = [record(2, 0), record(2, 1), record(2, 2)];
    const { paths } = await sideMedallion.writeBronze('main', orphan);
    for (const path of paths) await lake.put('main', path, (await side.get('main', path))!);
    await sideMedallion.close();
    await side.close();

    const recovered = await medallion.recoverBronze('main');
    expect(recovered).toEqual({ adopted: paths, rows: 3 });
    await lake.commit('main', 'adopt');
    expect(await medallion.recoverBronze('main')).toEqual({ adopted: [], rows: 0 });
    const again = await medallion.writeBronze('main', [...orphan, record(2, 3)]);
    expect({ rows: again.rows, skipped: again.skipped }).toEqual({ rows: 1, skipped: 3 });
  });
});
