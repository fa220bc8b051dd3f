/**
 * The documented SDTM example end to end: extracts (VS as CSV, LB as Parquet, DM as NDJSON)
 * through the file-import Source → bronze → silver on the local lake. Mapped rows reach
 * silver (units normalised), the unmappable row is quarantined as `unmapped` with its raw
 * row, and bronze = silver + duplicates + quarantined.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { fileImportSource } from '@vigil/adapter-file-import';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { createTestContext } from '@vigil/core/testing';
import { clinicalEventSchema, createMedallion, QUARANTINE_PATH, silverPath } from '@vigil/job-adverse-events';
import { describe, expect, it } from 'vitest';

const VS = `STUDYID,DOMAIN,USUBJID,SUBJID,SITEID,VSSEQ,VSTESTCD,VSSTRESN,VSSTRESU,VSDTC
VIG-001,VS,VIG-001-0007,0007,site-03,1,HR,72,beats/min,2026-01-05T08:00:00
VIG-001,VS,VIG-001-0007,0007,site-03,2,TEMP,99.1,F,2026-01-05T08:45
VIG-001,VS,VIG-001-0007,0007,site-03,3,SYSBP,121,mmHg,2026-01-05T08:30
VIG-001,VS,VIG-001-0007,0007,site-03,4,BMI,24.1,kg/m2,2026-01-05T08:30
VIG-001,VS,VIG-001-0008,0008,site-01,1,HR,,beats/min,2026-01-05T08:10
`;
const DM = [
  {
    DOMAIN: 'DM',
    USUBJID: 'VIG-001-0007',
    SUBJID: '0007',
    SITEID: 'site-03',
    RFSTDTC: '2026-01-05',
    AGE: 61,
    SEX: 'F',
    ARMCD: 'TRT',
  },
  {
    DOMAIN: 'DM',
    USUBJID: 'VIG-001-0008',
    SUBJID: '0008',
    SITEID: 'site-01',
    RFSTDTC: '2026-01-05',
    AGE: 47,
    SEX: 'M',
    ARMCD: 'PBO',
  },
];

describe('file-import → bronze → silver (the SDTM example of docs/adapters/file-import.md)', () => {
  it('maps, normalises, quarantines what cannot be mapped, and reconciles', async () => {
    const ctx = await createTestContext({ schema: clinicalEventSchema });
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await db.connect();
    const dir = ctx.workdir;
    await writeFile(join(dir, 'vs.csv'), VS);
    await writeFile(join(dir, 'dm.ndjson'), `${DM.map((r) => JSON.stringify(r)).join('\n')}\n`);
    await connection.run(`COPY (SELECT * FROM (VALUES
        ('LB', 'VIG-001-0007', '0007', 'site-03', 1, 'ALT', 31.0, 'U/L', TIMESTAMP '2026-01-05 10:00:00', TIMESTAMP '2026-01-05 16:00:00'),
        ('LB', 'VIG-001-0007', '0007', 'site-03', 2, 'BILI', 17.1, 'umol/L', TIMESTAMP '2026-01-05 10:00:00', TIMESTAMP '2026-01-05 16:00:00'))
      AS t(DOMAIN, USUBJID, SUBJID, SITEID, LBSEQ, LBTESTCD, LBSTRESN, LBSTRESU, LBDTC, LBENDTC))
      TO '${join(dir, 'lb.parquet')}' (FORMAT parquet)`);
    const config = fileImportSource.config.parse({
      baseDir: dir,
      key: 'siteId',
      files: [
        {
          path: 'vs.csv',
          topic: 'vitals',
          mapping: {
            eventId: { columns: ['DOMAIN', 'USUBJID', 'VSSEQ'], separator: '-' },
            kind: 'vital',
            origin: 'ehr',
            patientId: 'SUBJID',
            siteId: 'SITEID',
            observedAt: 'VSDTC',
            measure: {
              column: 'VSTESTCD',
              values: { HR: 'heart_rate', SYSBP: 'systolic_bp', TEMP: 'temperature' },
            },
            value: 'VSSTRESN',
            unit: { column: 'VSSTRESU', values: { 'beats/min': 'bpm', C: '°C', F: '°F' }, otherwise: 'keep' },
          },
        },
        {
          path: 'lb.parquet',
          topic: 'labs',
          mapping: {
            eventId: { columns: ['DOMAIN', 'USUBJID', 'LBSEQ'] },
            kind: 'lab',
            origin: 'ehr',
            patientId: 'SUBJID',
            siteId: 'SITEID',
            observedAt: 'LBDTC',
            recordedAt: 'LBENDTC',
            measure: { column: 'LBTESTCD', values: { ALT: 'alt', BILI: 'bilirubin' } },
            value: 'LBSTRESN',
            unit: { column: 'LBSTRESU', values: { 'umol/L': 'µmol/L' }, otherwise: 'keep' },
          },
        },
        {
          path: 'dm.ndjson',
          topic: 'enrolments',
          mapping: {
            eventId: { columns: ['DOMAIN', 'USUBJID'] },
            kind: 'enrolment',
            origin: 'site',
            patientId: 'SUBJID',
            siteId: 'SITEID',
            observedAt: 'RFSTDTC',
            age: 'AGE',
            sex: 'SEX',
            arm: { column: 'ARMCD', values: { TRT: 'treatment', PBO: 'placebo' } },
          },
        },
      ],
    });
    const source = await fileImportSource.create(config, ctx);
    const lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
    const medallion = await createMedallion({ lake, workdir: join(dir, 'medallion') });
    try {
      const consumer = await source.consumer({ group: 'bronze', topics: ['vitals', 'labs', 'enrolments'] });
      const records = await consumer.poll({ timeoutMs: 0 });
      expect(records).toHaveLength(9);
      await medallion.writeBronze('main', records);
      const silver = await medallion.buildSilver('main');
      await lake.commit('main', 'import');
      expect(silver.bronze).toBe(9);
      expect(silver.silver + silver.duplicates + silver.quarantined).toBe(silver.bronze);
      expect(silver.reasons).toEqual({ unmapped: 1, missing_field: 1 });
      expect(silver.tables).toMatchObject({ vitals: 3, labs: 2, enrolments: 2 });

      const rows = async (path: string, sql: string) =>
        (
          await connection.runAndReadAll(
            sql.replace('$T', `read_parquet('${await lake.locate('main', path)}')`),
          )
        ).getRowObjectsJS() as Record<string, unknown>[];
      const vitals = await rows(
        silverPath('vitals'),
        'SELECT measure, value, unit, reported_unit FROM $T ORDER BY measure',
      );
      const temperature = vitals.find((v) => v.measure === 'temperature')!;
      expect(temperature.unit).toBe('°C');
      expect(temperature.reported_unit).toBe('°F');
      expect(Number(temperature.value)).toBeCloseTo(((99.1 - 32) * 5) / 9, 6);
      const labs = await rows(silverPath('labs'), 'SELECT measure, value, unit FROM $T ORDER BY measure');
      expect(labs.map((l) => [l.measure, l.unit])).toEqual([
        ['alt', 'U/L'],
        ['bilirubin', 'mg/dL'],
      ]);
      const quarantine = await rows(QUARANTINE_PATH, 'SELECT reason, field, raw FROM $T ORDER BY reason');
      expect(quarantine.map((q) => [q.reason, q.field])).toEqual([
        ['missing_field', 'value'],
        ['unmapped', '_unmapped'],
      ]);
      const raw = JSON.parse(String(quarantine[1]!.raw));
      expect(raw._unmapped).toMatchObject({ reason: 'unknown_code', field: 'measure' });
      expect(raw.row).toMatchObject({ VSTESTCD: 'BMI', VSSTRESN: '24.1' });
    } finally {
      connection.closeSync();
      db.closeSync();
      await medallion.close();
      await lake.close();
      await source.close();
      await ctx.cleanup();
    }
  });
});
