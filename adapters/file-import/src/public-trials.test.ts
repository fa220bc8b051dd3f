/**
 * The two public-trial examples (examples/cgd, examples/indo-rct): their vigil.yaml's
 * file-import section read through the real Source over the committed CSV extracts. Counts
 * of records per kind (and a few values) are checked against counts computed here from a
 * plain CSV parse, independently of the mapping.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText, type SourceRecord } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileImportSource, fileImportSource } from './index.js';
import { clinicalSchema } from './testing/clinical-schema.js';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** RFC 4180 CSV → rows of named cells (quotes, doubled quotes; no type conversion). */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  const [header, ...data] = rows;
  return data.map((r) => Object.fromEntries(header!.map((h, k) => [h, r[k] ?? ''])));
}

const csv = async (example: string, file: string) =>
  parseCsv(await readFile(join(repo, 'examples', example, 'data', file), 'utf8'));

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext({ schema: clinicalSchema });
});
afterEach(async () => {
  await ctx.cleanup();
});

interface Imported {
  source: FileImportSource;
  records: SourceRecord[];
  events: Record<string, string | number>[];
  byKind: Record<string, number>;
}

/** Open the example's configured Source (baseDir resolved from the repository root) and read every record. */
async function importExample(example: string): Promise<Imported> {
  const doc = parseConfigText(await readFile(join(repo, 'examples', example, 'vigil.yaml'), 'utf8')) as {
    ports: { source: { adapter: string; config: { baseDir: string } } };
  };
  expect(doc.ports.source.adapter).toBe('file-import');
  const raw = doc.ports.source.config;
  const config = fileImportSource.config.parse({ ...raw, baseDir: join(repo, raw.baseDir) });
  const source = (await fileImportSource.create(config, ctx)) as FileImportSource;
  const topics = [...new Set(config.files.map((f) => f.topic))];
  const consumer = await source.consumer({ group: 'test', topics });
  const records: SourceRecord[] = [];
  for (;;) {
    const batch = await consumer.poll({ timeoutMs: 0, maxRecords: 10_000 });
    if (batch.length === 0) break;
    records.push(...batch);
  }
  await consumer.close();
  await source.close();
  const events = records.map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')));
  const byKind: Record<string, number> = {};
  for (const e of events)
    byKind[String(e.kind ?? 'unmapped')] = (byKind[String(e.kind ?? 'unmapped')] ?? 0) + 1;
  return { source, records, events, byKind };
}

const DAY = 86_400_000;
const count = <T>(rows: readonly T[], keep: (row: T) => boolean) => rows.filter(keep).length;

describe('examples/cgd through the file-import Source', () => {
  it('gives one enrolment per patient, the static covariates, and one event per infection', async () => {
    const patients = await csv('cgd', 'patients.csv');
    const baseline = await csv('cgd', 'baseline.csv');
    const infections = await csv('cgd', 'infections.csv');
    expect(patients).toHaveLength(128);
    expect(new Set(patients.map((p) => p.center)).size).toBe(13);

    const { events, byKind, source, records } = await importExample('cgd');
    const present = (c: string) => count(baseline, (r) => r[c] !== '' && r[c] !== 'NA');
    const expected = {
      enrolment: patients.length,
      vital: present('height') + present('weight'),
      // inherit, steroids, propylac and hos.cat one-hot (4) from the baseline; treat and sex as 0/1
      lab:
        present('inherit') +
        present('steroids') +
        present('propylac') +
        4 * present('hos.cat') +
        count(patients, (p) => p.treat !== 'NA') +
        count(patients, (p) => p.sex !== 'NA'),
      // every interval's end is a follow-up contact
      visit: infections.length,
      adverse_event: count(infections, (r) => r.status === '1'),
    };
    expect(byKind).toEqual(expected);
    expect(expected).toEqual({ enrolment: 128, vital: 256, lab: 1152, visit: 203, adverse_event: 76 });
    expect(records.every((r) => r.headers['vigil-unmapped'] === undefined)).toBe(true);
    expect(source.files.map((f) => [f.path, f.rows, f.records, f.unmapped, f.empty])).toEqual([
      ['patients.csv', 128, 128, 0, 0],
      ['baseline.csv', 128, 256, 0, 0],
      ['baseline.csv', 128, 896, 0, 0],
      ['patients.csv', 128, 256, 0, 0],
      ['infections.csv', 203, 203, 0, 0],
      ['infections.csv', 203, 76, 0, 203 - 76],
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);

    // Values, recomputed from the CSV: arms, sexes, covariates, infection times.
    const enrolments = events.filter((e) => e.kind === 'enrolment');
    expect(count(enrolments, (e) => e.arm === 'treatment')).toBe(
      count(patients, (p) => p.treat === 'rIFN-g'),
    );
    expect(count(enrolments, (e) => e.sex === 'F')).toBe(count(patients, (p) => p.sex === 'female'));
    const lab = (measure: string) => events.filter((e) => e.kind === 'lab' && e.measure === measure);
    expect(lab('steroids').reduce((s, e) => s + Number(e.value), 0)).toBe(
      count(baseline, (r) => r.steroids === '1'),
    );
    expect(lab('inherit_xlinked').reduce((s, e) => s + Number(e.value), 0)).toBe(
      count(baseline, (r) => r.inherit === 'X-linked'),
    );
    const hos = ['hos_us_nih', 'hos_us_other', 'hos_europe_amsterdam', 'hos_europe_other'];
    expect(hos.reduce((s, m) => s + lab(m).reduce((t, e) => t + Number(e.value), 0), 0)).toBe(128);
    const heights = events.filter((e) => e.measure === 'height');
    expect(heights.every((e) => e.unit === 'cm' && e.kind === 'vital')).toBe(true);
    const expectedTimes = infections
      .filter((r) => r.status === '1')
      .map(
        (r) =>
          `${r.id} ${new Date(Date.parse(`${r.random}T00:00:00Z`) + Number(r.tstop) * DAY).toISOString()}`,
      )
      .sort();
    const times = events
      .filter((e) => e.kind === 'adverse_event')
      .map((e) => `${e.patientId} ${e.observedAt}`)
      .sort();
    expect(times).toEqual(expectedTimes);
    expect(events.filter((e) => e.kind === 'adverse_event').every((e) => e.grade === 3)).toBe(true);
  });
});

describe('examples/indo-rct through the file-import Source', () => {
  it('gives one enrolment per patient, the procedure covariates without missing cells, and the pancreatitis events', async () => {
    const patients = await csv('indo-rct', 'patients.csv');
    const procedure = await csv('indo-rct', 'procedure.csv');
    const outcomes = await csv('indo-rct', 'outcomes.csv');
    expect(patients).toHaveLength(602);
    expect(new Set(patients.map((p) => p.site)).size).toBe(4);

    const { events, byKind, source, records } = await importExample('indo-rct');
    const measured = Object.keys(procedure[0]!).filter((c) => c !== 'id' && c !== 'site');
    expect(measured).toHaveLength(26);
    const missingCells = procedure.reduce(
      (n, r) => n + count(measured, (c) => ['', 'NA', 'NA_NA'].includes(r[c]!)),
      0,
    );
    expect(missingCells).toBeGreaterThan(0);
    const expected = {
      enrolment: patients.length,
      // the procedure's measured cells, plus rx and gender as 0/1
      lab: procedure.length * measured.length - missingCells + 2 * patients.length,
      visit: outcomes.length,
      adverse_event: count(outcomes, (r) => r.outcome === '1_yes'),
    };
    expect(byKind).toEqual(expected);
    expect(records.every((r) => r.headers['vigil-unmapped'] === undefined)).toBe(true);
    expect(source.files.map((f) => [f.path, f.rows, f.records, f.empty])).toEqual([
      ['patients.csv', 602, 602, 0],
      ['procedure.csv', 602, procedure.length * measured.length - missingCells, 0],
      ['patients.csv', 602, 2 * patients.length, 0],
      ['outcomes.csv', 602, outcomes.length, 0],
      ['outcomes.csv', 602, expected.adverse_event, 602 - expected.adverse_event],
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);

    const enrolments = events.filter((e) => e.kind === 'enrolment');
    expect(count(enrolments, (e) => e.arm === 'treatment')).toBe(
      count(patients, (p) => p.rx === '1_indomethacin'),
    );
    const labs = events.filter((e) => e.kind === 'lab');
    for (const column of ['asa81', 'pep', 'sod']) {
      const cells = procedure.filter((r) => !['NA', 'NA_NA'].includes(r[column]!));
      const got = labs.filter((e) => e.measure === column);
      expect(got, column).toHaveLength(cells.length);
      expect(
        got.reduce((s, e) => s + Number(e.value), 0),
        column,
      ).toBe(count(cells, (r) => r[column] === '1_yes'));
    }
    const risk = labs.filter((e) => e.measure === 'risk_score');
    expect(risk.reduce((s, e) => s + Number(e.value), 0)).toBeCloseTo(
      procedure.reduce((s, r) => s + Number(r.risk), 0),
      6,
    );
    const ae = events.filter((e) => e.kind === 'adverse_event');
    expect(new Set(ae.map((e) => e.patientId))).toEqual(
      new Set(outcomes.filter((r) => r.outcome === '1_yes').map((r) => r.id)),
    );
    expect(ae.every((e) => e.observedAt === '2010-01-02T00:00:00.000Z' && e.term === 'pancreatitis')).toBe(
      true,
    );
  });
});
