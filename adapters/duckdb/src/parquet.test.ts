import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetFromRows } from './parquet.js';

describe('parquetFromRows', () => {
  it('writes Parquet that DuckDB reads back with the declared types', async () => {
    const bytes = await parquetFromRows(
      [
        { name: 'id', dtype: 'string' },
        { name: 'ts', dtype: 'timestamp' },
        { name: 'x', dtype: 'float64' },
        { name: 'n', dtype: 'int64' },
        { name: 'ok', dtype: 'bool' },
      ],
      [
        { id: 'a', ts: new Date('2024-01-01T12:00:00Z'), x: 0.5, n: 2 ** 40, ok: true },
        { id: 'b', ts: '2024-01-02T00:00:00Z', x: null, n: 3n, ok: false },
      ],
    );
    expect(Buffer.from(bytes.subarray(0, 4)).toString()).toBe('PAR1');
    const dir = await mkdtemp(join(tmpdir(), 'vigil-parquet-test-'));
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const file = join(dir, 'x.parquet');
      await writeFile(file, bytes);
      const reader = await conn.runAndReadAll(
        `SELECT id, epoch_ms(ts) AS ms, x, n, ok, typeof(ts) AS tt FROM read_parquet('${file}') ORDER BY id`,
      );
      expect(reader.getRowObjectsJS()).toEqual([
        {
          id: 'a',
          ms: BigInt(Date.UTC(2024, 0, 1, 12)),
          x: 0.5,
          n: 2n ** 40n,
          ok: true,
          tt: 'TIMESTAMP WITH TIME ZONE',
        },
        {
          id: 'b',
          ms: BigInt(Date.UTC(2024, 0, 2)),
          x: null,
          n: 3n,
          ok: false,
          tt: 'TIMESTAMP WITH TIME ZONE',
        },
      ]);
    } finally {
      conn.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the column and row of a value of the wrong type', async () => {
    await expect(
      parquetFromRows(
        [
          { name: 'id', dtype: 'string' },
          { name: 'n', dtype: 'int32' },
        ],
        [
          { id: 'a', n: 1 },
          { id: 'b', n: 1.5 },
        ],
      ),
    ).rejects.toThrow(/rows\[1\]\.n is not a valid int32/);
  });
});
