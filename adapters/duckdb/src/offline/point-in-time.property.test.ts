/**
 * Property test: on random data (several entities, timestamps with ties, random TTLs, created
 * timestamps) `getHistoricalFeatures` equals a brute-force reading of INTEROP §2.
 */
import { createRng, type EntityRow, type FeatureView, type Rng, type ScalarValue } from '@vigil/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parquetFromRows } from '../parquet.js';
import { createDuckDBFixture, type DuckDBFixture, sourceColumns } from '../testing/fixture.js';

type Row = Record<string, unknown>;
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

/** INTEROP §2, literally: candidates, latest event time, then latest created time; none → null. */
function referenceJoin(view: FeatureView, rows: readonly Row[], entityRow: EntityRow): Row | undefined {
  const ets = entityRow.event_timestamp.getTime();
  const { timestampField: tsField, createdTimestampField: created } = view.source;
  const candidates = rows.filter((row) => {
    if (!view.entities.every((k) => row[k] === entityRow[k])) return false;
    const t = (row[tsField] as Date).getTime();
    return t <= ets && (view.ttlSeconds === 0 || t >= ets - view.ttlSeconds * 1000);
  });
  let best: Row | undefined;
  for (const row of candidates) {
    if (!best) {
      best = row;
      continue;
    }
    const t = (row[tsField] as Date).getTime();
    const bt = (best[tsField] as Date).getTime();
    if (t > bt || (t === bt && created && (row[created] as Date) > (best[created] as Date))) best = row;
  }
  return best;
}

interface Case {
  views: FeatureView[];
  rows: Row[][];
  entityRows: EntityRow[];
}

/** One case; its entity ids are its own, so cases can share one query without matching each other. */
function randomCase(rng: Rng, id: number, batch: number, numericKeys: boolean): Case {
  const entityCount = 1 + rng.int(4);
  const key = (i: number) => (numericKeys ? 1000 * id + i : `c${id}e${i}`);
  const views: FeatureView[] = [];
  const rows: Row[][] = [];
  for (const [v, withCreated] of [
    [0, true],
    [1, rng.next() < 0.5],
  ] as const) {
    const ttlHours = rng.next() < 0.3 ? 0 : 1 + rng.int(20);
    const view: FeatureView = {
      name: `v${v}_${id}`,
      entities: ['entity_id'],
      features: [
        { name: `x${v}`, dtype: 'float64' },
        { name: `n${v}`, dtype: 'int64' },
      ],
      ttlSeconds: ttlHours * 3600 + (rng.next() < 0.2 ? rng.int(3600) : 0),
      source: {
        // All cases of a batch share one file per v: their entity ids never meet.
        path: `prop/${batch}/v${v}`,
        timestampField: 'event_ts',
        ...(withCreated ? { createdTimestampField: 'created_ts' } : {}),
      },
      version: 1,
    };
    const viewRows: Row[] = [];
    // Created times are distinct within a case, so ties on (ts, created) never happen.
    const createdOrder = Array.from({ length: 64 }, (_, i) => i).sort(() => rng.next() - 0.5);
    for (let e = 0; e < entityCount; e++) {
      const n = rng.int(8);
      // View 1 may lack a created timestamp, where a tie would be undecidable: its event times are unique.
      const used = new Set<number>();
      for (let r = 0; r < n; r++) {
        let hour = rng.int(40);
        if (v === 1) {
          while (used.has(hour)) hour = rng.int(40);
          used.add(hour);
        }
        viewRows.push({
          entity_id: key(e),
          event_ts: new Date(T0 + hour * HOUR),
          created_ts: new Date(T0 + (createdOrder.pop() ?? 0) * 60_000),
          [`x${v}`]: rng.next() < 0.1 ? null : Math.round(rng.normal() * 1000) / 8 + 0, // + 0: DuckDB may hand back -0 as 0
          [`n${v}`]: rng.int(1000) - 500,
        });
      }
    }
    views.push(view);
    rows.push(viewRows);
  }
  const entityRows: EntityRow[] = Array.from({ length: 1 + rng.int(12) }, () => ({
    // One id past the end has no feature rows at all.
    entity_id: key(rng.int(entityCount + 1)),
    event_timestamp: new Date(T0 + (rng.int(48) - 3) * HOUR + (rng.next() < 0.2 ? rng.int(HOUR) : 0)),
  }));
  return { views, rows, entityRows };
}

describe('point-in-time join equals the INTEROP §2 reference on random data', () => {
  let fixture: DuckDBFixture;
  beforeAll(async () => {
    fixture = await createDuckDBFixture();
  });
  afterAll(async () => {
    await fixture.cleanup();
  });

  it('agrees on 300 random cases (30 batches of 10 cases, 20 views joined per query)', async () => {
    const rng = createRng('duckdb-pit-property');
    const { impl, lake } = fixture;
    const duckdb = await import('@duckdb/node-api');
    const instance = await duckdb.DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await instance.connect();
    try {
      for (let batch = 0; batch < 30; batch++) {
        const numericKeys = rng.next() < 0.3;
        const cases = Array.from({ length: 10 }, (_, i) => {
          const id = batch * 10 + i;
          return randomCase(rng.fork(`case-${id}`), id, batch, numericKeys);
        });
        const views = cases.flatMap((c) => c.views);
        await impl.apply(views);
        const fileRows = [0, 1].map((v) => cases.flatMap((c) => c.rows[v]!));
        for (const v of [0, 1]) {
          const rows = fileRows[v]!;
          if (rows.length === 0) continue;
          const view = cases[0]!.views[v]!;
          const cols = sourceColumns(
            { ...view, source: { ...view.source, createdTimestampField: 'created_ts' } },
            rows,
          );
          const bytes = await parquetFromRows(cols, rows, { connection });
          await lake.put(lake.defaultBranch, `${view.source.path}/part.parquet`, bytes);
        }
        const viewRows = cases.flatMap(() => fileRows);
        const ref = (await lake.commit(lake.defaultBranch, `batch ${batch}`, { allowEmpty: true })).id;
        const entityRows = cases.flatMap((c) => c.entityRows);
        const features = views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}` as const));
        const result = await impl.getHistoricalFeatures({ entityRows, features, ref });
        const expected = entityRows.map((entityRow) => {
          const out: Record<string, ScalarValue | Date> = { ...entityRow };
          views.forEach((view, i) => {
            const hit = referenceJoin(view, viewRows[i]!, entityRow);
            for (const f of view.features)
              out[`${view.name}__${f.name}`] = (hit?.[f.name] as ScalarValue) ?? null;
          });
          return out;
        });
        expect(result.rows, `batch ${batch}: ${JSON.stringify(cases)}`).toEqual(expected);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }, 60_000);
});
