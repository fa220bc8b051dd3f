import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ComponentContext, isVigilError, type Source, type SourceRecord } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileImportSource, fileImportSource } from './index.js';
import { clinicalSchema } from './testing/clinical-schema.js';
import {
  expectedVital,
  VS_COLUMNS,
  vsMapping,
  vsRows,
  writeCsv,
  writeNdjson,
  writeParquet,
} from './testing/sdtm-extracts.js';

let ctx: TestContext;
const open: Source[] = [];

beforeEach(async () => {
  ctx = await createTestContext({ schema: clinicalSchema });
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await ctx.cleanup();
});

async function create(config: object, context: ComponentContext = ctx): Promise<Source> {
  const source = await fileImportSource.create(
    fileImportSource.config.parse({ key: 'siteId', ...config }),
    context,
  );
  open.push(source);
  return source;
}

async function drain(source: Source, group: string, topics: string[]): Promise<SourceRecord[]> {
  const consumer = await source.consumer({ group, topics });
  const out: SourceRecord[] = [];
  for (;;) {
    const batch = await consumer.poll({ timeoutMs: 0 });
    if (batch.length === 0) break;
    out.push(...batch);
  }
  await consumer.close();
  return out;
}

const text = (r: SourceRecord) => Buffer.from(r.value).toString('utf8');

describe('file-import source', () => {
  it('maps CSV, NDJSON and Parquet extracts; unmappable rows arrive raw with an _unmapped reason', async () => {
    const rows = vsRows(7, 'site-03', 4);
    const bad = [
      { ...rows[0]!, VSSEQ: 50, VSTESTCD: 'BMI' },
      { ...rows[1]!, VSSEQ: 51, VSSTRESN: 'n/a' as unknown as number },
      { ...rows[2]!, VSSEQ: 52, VSDTC: '2026-01' },
      { ...rows[3]!, VSSEQ: 53, VSSTRESU: null },
    ];
    const csv = join(ctx.workdir, 'vs.csv');
    await writeCsv(csv, [...rows, ...bad] as never, VS_COLUMNS);
    const ndjson = join(ctx.workdir, 'vs.jsonl');
    await writeNdjson(ndjson, [rows[0], '{"SUBJID": "0007", "VSTESTCD": ', '', '[1, 2]', rows[1]]);
    const parquet = join(ctx.workdir, 'vs.parquet');
    await writeParquet(parquet, rows.slice(2));
    const source = await create({
      files: [
        { path: csv, topic: 'vitals', mapping: vsMapping },
        { path: ndjson, topic: 'vitals', mapping: vsMapping },
        { path: 'vs.parquet', topic: 'vitals-parquet', mapping: vsMapping },
      ],
      baseDir: ctx.workdir,
    });
    expect(await source.describeTopic('vitals')).toEqual({
      topic: 'vitals',
      partitions: 2,
      endOffsets: ['8', '4'],
    });
    expect(await source.describeTopic('vitals-parquet')).toEqual({
      topic: 'vitals-parquet',
      partitions: 1,
      endOffsets: ['2'],
    });
    const got = await drain(source, 'g', ['vitals', 'vitals-parquet']);
    const at = (topic: string, partition: number) =>
      got.filter((r) => r.topic === topic && r.partition === partition);
    expect(at('vitals', 0).slice(0, 4).map(text)).toEqual(rows.map(expectedVital));
    expect(
      at('vitals', 0)
        .slice(0, 4)
        .map((r) => r.key),
    ).toEqual(rows.map(() => 'site-03'));
    expect(at('vitals-parquet', 0).map(text)).toEqual(rows.slice(2).map(expectedVital));

    const unmapped = at('vitals', 0).slice(4, 7);
    expect(unmapped.map((r) => r.headers['vigil-unmapped'])).toEqual([
      'unknown_code',
      'invalid_number',
      'invalid_timestamp',
    ]);
    const first = JSON.parse(text(unmapped[0]!));
    expect(first._unmapped).toMatchObject({ reason: 'unknown_code', field: 'measure' });
    expect(first._source).toEqual({ file: 'vs.csv', row: 4 });
    expect(first.row).toMatchObject({ VSTESTCD: 'BMI', SUBJID: '0007', VSSEQ: '50' });
    expect(unmapped[0]!.key).toBeNull();
    // A missing unit is not a mapping failure: the event goes without it and silver says missing_unit.
    const noUnit = JSON.parse(text(at('vitals', 0)[7]!));
    expect(noUnit).toMatchObject({ eventId: 'VIG-001-0007-53', measure: 'spo2' });
    expect('unit' in noUnit).toBe(false);

    const lines = at('vitals', 1);
    expect(lines.map((r) => r.offset)).toEqual(['0', '1', '2', '3']);
    expect(text(lines[0]!)).toBe(expectedVital(rows[0]!));
    expect(lines.map((r) => r.headers['vigil-unmapped'])).toEqual([
      undefined,
      'invalid_json',
      'not_an_object',
      undefined,
    ]);
    expect(JSON.parse(text(lines[1]!)).row).toBe('{"SUBJID": "0007", "VSTESTCD": ');
    expect(lines[3]!.headers).toMatchObject({ 'vigil-file': 'vs.jsonl', 'vigil-row': '3' });
  });

  it('is read-only: produce and new topics fail with VIGIL_SOURCE_READ_ONLY naming the topic', async () => {
    const csv = join(ctx.workdir, 'vs.csv');
    await writeCsv(csv, vsRows(1, 'site-01', 2) as never, VS_COLUMNS);
    const source = await create({ files: [{ path: csv, topic: 'vitals', mapping: vsMapping }] });
    expect(source.capabilities.produce).toBe(false);
    await source.ensureTopic('vitals', { partitions: 8 });
    await expect(source.produce([{ topic: 'vitals', value: '{}' }])).rejects.toSatisfy(
      (e) => isVigilError(e, 'VIGIL_SOURCE_READ_ONLY') && e.message.includes('vitals'),
    );
    await expect(source.ensureTopic('labs')).rejects.toSatisfy(
      (e) => isVigilError(e, 'VIGIL_SOURCE_READ_ONLY') && e.message.includes('labs'),
    );
    await expect(source.describeTopic('labs')).rejects.toSatisfy((e) =>
      isVigilError(e, 'VIGIL_SOURCE_UNKNOWN_TOPIC'),
    );
    expect((await source.describeTopic('vitals')).partitions).toBe(1);
  });

  it('persists committed offsets under the workdir and resumes a group after reopening; seek replays', async () => {
    const csv = join(ctx.workdir, 'vs.csv');
    const rows = vsRows(1, 'site-01', 10);
    await writeCsv(csv, rows as never, VS_COLUMNS);
    const config = { files: [{ path: csv, topic: 'vitals', mapping: vsMapping }] };
    const first = await create(config);
    const consumer = await first.consumer({ group: 'bronze', topics: ['vitals'] });
    const batch = await consumer.poll({ maxRecords: 4, timeoutMs: 0 });
    expect(batch.map((r) => r.offset)).toEqual(['0', '1', '2', '3']);
    await consumer.commit([{ topic: 'vitals', partition: 0, offset: '4' }]);
    await consumer.seek({ topic: 'vitals', partition: 0, offset: '1' });
    expect((await consumer.poll({ maxRecords: 2, timeoutMs: 0 })).map((r) => r.offset)).toEqual(['1', '2']);
    await expect(consumer.seek({ topic: 'vitals', partition: 0, offset: '11' })).rejects.toSatisfy((e) =>
      isVigilError(e, 'VIGIL_SOURCE_INVALID_OFFSET'),
    );
    await first.close();
    expect(JSON.parse(await readFile(join(ctx.workdir, 'file-import', 'bronze.json'), 'utf8'))).toEqual({
      'vitals/0': '4',
    });

    const again = await create(config);
    const resumed = await again.consumer({ group: 'bronze', topics: ['vitals'] });
    expect(await resumed.committed()).toEqual([{ topic: 'vitals', partition: 0, offset: '4' }]);
    const rest = await resumed.poll({ timeoutMs: 0 });
    expect(rest.map(text)).toEqual(rows.slice(4).map(expectedVital));
    const other = await again.consumer({ group: 'audit', topics: ['vitals'], start: 'latest' });
    expect(await other.poll({ timeoutMs: 0 })).toEqual([]);
  });

  it('spreads the files of a topic over the members of a group and hands them over when one leaves', async () => {
    const files = [];
    for (let i = 0; i < 3; i++) {
      const path = join(ctx.workdir, `site-${i}.csv`);
      await writeCsv(path, vsRows(i, `site-0${i}`, 3) as never, VS_COLUMNS);
      files.push({ path, topic: 'vitals', mapping: vsMapping });
    }
    const source = await create({ files });
    const a = await source.consumer({ group: 'g', topics: ['vitals'] });
    const b = await source.consumer({ group: 'g', topics: ['vitals'] });
    const fromA = await a.poll({ timeoutMs: 0 });
    const fromB = await b.poll({ timeoutMs: 0 });
    expect(new Set(fromA.map((r) => r.partition))).toEqual(new Set([0, 2]));
    expect(new Set(fromB.map((r) => r.partition))).toEqual(new Set([1]));
    await b.close();
    await expect(b.poll()).rejects.toSatisfy((e) => isVigilError(e, 'VIGIL_SOURCE_CONSUMER_CLOSED'));
    // b committed nothing, so partition 1 starts over for a.
    expect((await a.poll({ timeoutMs: 0 })).map((r) => r.partition)).toEqual([1, 1, 1]);
    const started = Date.now();
    expect(await a.poll({ timeoutMs: 150 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('reports every config problem at once: missing files, unknown extension, absent columns', async () => {
    const csv = join(ctx.workdir, 'vs.csv');
    await writeCsv(csv, vsRows(1, 'site-01', 2) as never, VS_COLUMNS);
    await writeFile(join(ctx.workdir, 'vs.txt'), 'x');
    const error = await create({
      baseDir: ctx.workdir,
      files: [
        { path: 'missing.csv', topic: 'vitals', mapping: vsMapping },
        { path: 'vs.txt', topic: 'vitals', mapping: vsMapping },
        {
          path: 'vs.csv',
          topic: 'vitals',
          mapping: { ...vsMapping, value: 'VSORRES', patientId: 'SUBJECT' },
        },
      ],
    }).catch((e: unknown) => e);
    expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
    const issues = (error as { details: { issues: { path: string; message: string }[] } }).details.issues;
    expect(issues.map((i) => i.path)).toEqual([
      'files[0].path',
      'files[1].format',
      'files[2].mapping.patientId',
      'files[2].mapping.value',
    ]);
    expect(issues[3]!.message).toContain("column 'VSORRES' is not in 'vs.csv'");
    expect(issues[3]!.message).toContain('VSSTRESN');
  });

  it('checks mappings against the job’s record schema, naming the file, the field and the reason', async () => {
    const csv = join(ctx.workdir, 'vs.csv');
    await writeCsv(csv, vsRows(1, 'site-01', 2) as never, VS_COLUMNS);
    const { unit: _, ...noUnit } = vsMapping;
    const error = await create({
      baseDir: ctx.workdir,
      key: 'site',
      files: [
        { path: 'vs.csv', topic: 'vitals', mapping: { ...noUnit, colour: 'VSTESTCD' } },
        { path: 'vs.csv', topic: 'vitals', mapping: { ...vsMapping, kind: 'vitals' } },
      ],
    }).catch((e: unknown) => e);
    expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
    const issues = (error as { details: { issues: { path: string; message: string }[] } }).details.issues;
    expect(issues.map((i) => i.path)).toEqual([
      'key',
      'files[0].mapping.colour',
      'files[0].mapping.unit',
      'files[1].mapping.kind',
    ]);
    expect(issues[1]!.message).toContain("'colour' is not a field of the job's records");
    expect(issues[2]!.message).toBe("is required for kind 'vital'");
    expect(issues[3]!.message).toMatch(
      /column 'vitals' is not in 'vs.csv' \(nor is 'vitals' one of kind's values/,
    );
    expect((error as Error).message).toContain(
      "files[0].mapping.unit (vs.csv): is required for kind 'vital'",
    );
  });

  it("fails clearly without a job's record schema", async () => {
    const bare = await createTestContext();
    try {
      const csv = join(bare.workdir, 'vs.csv');
      await writeCsv(csv, vsRows(1, 'site-01', 2) as never, VS_COLUMNS);
      const error = await create({ files: [{ path: csv, topic: 'vitals', mapping: vsMapping }] }, bare).catch(
        (e: unknown) => e,
      );
      expect(isVigilError(error, 'VIGIL_REGISTRY_MISSING_DEPENDENCY')).toBe(true);
      expect((error as Error).message).toMatch(/file-import source needs a job's record schema/);
    } finally {
      await bare.cleanup();
    }
  });

  it('delivers one record per measured cell of wide rows and counts what each file gave', async () => {
    const csv = join(ctx.workdir, 'wide.csv');
    await writeFile(
      csv,
      [
        'id,site,visit,hb,plt',
        'P1,s1,2026-02-01,13.5,210',
        'P2,s1,2026-02-01,NA,',
        'P3,s2,2026-02-02,x,99',
      ].join('\n'),
    );
    const source = await create({
      missing: ['NA'],
      files: [
        {
          path: csv,
          topic: 'labs',
          mapping: { kind: 'lab', origin: 'ehr', patientId: 'id', siteId: 'site', observedAt: 'visit' },
          unpivot: {
            into: { name: 'measure', value: 'value' },
            columns: [
              { column: 'hb', set: { unit: 'g/dL' } },
              { column: 'plt', set: { unit: '10^9/L' } },
            ],
          },
        },
      ],
    });
    const got = await drain(source, 'g', ['labs']);
    expect(got.map((r) => r.offset)).toEqual(['0', '1', '2', '3']);
    expect(
      got.map((r) => [r.headers['vigil-row'], r.headers['vigil-column'], r.headers['vigil-unmapped']]),
    ).toEqual([
      ['0', 'hb', undefined],
      ['0', 'plt', undefined],
      ['2', 'hb', 'invalid_number'],
      ['2', 'plt', undefined],
    ]);
    expect(JSON.parse(text(got[2]!))._source).toEqual({ file: 'wide.csv', row: 2, column: 'hb' });
    expect((source as FileImportSource).files).toEqual([
      { path: csv, topic: 'labs', partition: 0, rows: 3, records: 4, unmapped: 1, empty: 1 },
    ]);
  });
});
