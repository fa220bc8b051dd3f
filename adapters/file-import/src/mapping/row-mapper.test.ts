import { describe, expect, it } from 'vitest';
import type { MappingInput } from '../config.js';
import { clinicalSchema, mapperFor, meterSchema } from '../testing/clinical-schema.js';
import { parseTimestamp } from './convert-cell.js';
import type { MapOutcome } from './row-mapper.js';

/** The one outcome a plain (not unpivoted, unfiltered) row gives. */
function one(outcomes: MapOutcome[]): MapOutcome {
  expect(outcomes).toHaveLength(1);
  return outcomes[0]!;
}

const labMapping: MappingInput = {
  kind: { const: 'lab' },
  origin: 'ehr',
  patientId: 'SUBJID',
  siteId: { column: 'SITEID', values: { '01': 'site-01', '02': 'site-02' } },
  observedAt: 'LBDTC',
  recordedAt: 'LBENDTC',
  measure: { column: 'LBTESTCD', values: { ALT: 'alt', BILI: 'bilirubin' } },
  value: 'LBSTRESN',
  unit: { column: 'LBSTRESU', values: { 'umol/L': 'µmol/L' }, otherwise: 'keep' },
  eventId: { columns: ['USUBJID', 'LBSEQ'] },
};

describe('parseTimestamp', () => {
  it('reads ISO 8601 dates and date-times; no offset is UTC; partial and impossible dates fail', () => {
    expect(parseTimestamp('2026-01-05T08:30')).toBe('2026-01-05T08:30:00.000Z');
    expect(parseTimestamp('2026-01-05 08:30:15.25')).toBe('2026-01-05T08:30:15.250Z');
    expect(parseTimestamp('2026-01-05T08:30:00+01:00')).toBe('2026-01-05T07:30:00.000Z');
    expect(parseTimestamp('2026-01-05T08:30:00-0230')).toBe('2026-01-05T11:00:00.000Z');
    expect(parseTimestamp('2026-01-05T08:30:00.123456Z')).toBe('2026-01-05T08:30:00.123Z');
    expect(parseTimestamp('2026-01-05')).toBe('2026-01-05T00:00:00.000Z');
    for (const bad of ['2026-01', '2026', '05/01/2026', '2026-02-30', '2026-13-01T00:00', 'soon', '']) {
      expect(parseTimestamp(bad), bad).toBeUndefined();
    }
  });
});

describe('RowMapper', () => {
  const mapper = mapperFor({ mapping: labMapping, topic: 'labs' });
  const row = {
    USUBJID: 'S-0007',
    SUBJID: '0007',
    SITEID: '02',
    LBSEQ: 3,
    LBTESTCD: 'BILI',
    LBSTRESN: '17.1',
    LBSTRESU: 'umol/L',
    LBDTC: '2026-01-06T10:00',
    LBENDTC: '2026-01-06T15:00',
  };

  it('maps columns, constants, code lists and joined ids, in the canonical field order', () => {
    const out = one(mapper.map(row));
    expect(out.ok).toBe(true);
    expect(JSON.stringify(out.ok && out.record)).toBe(
      JSON.stringify({
        eventId: 'S-0007-3',
        kind: 'lab',
        patientId: '0007',
        siteId: 'site-02',
        observedAt: '2026-01-06T10:00:00.000Z',
        recordedAt: '2026-01-06T15:00:00.000Z',
        origin: 'ehr',
        measure: 'bilirubin',
        value: 17.1,
        unit: 'µmol/L',
      }),
    );
  });

  it("keeps an unlisted code with otherwise: 'keep' and leaves missing cells out (silver names them)", () => {
    const out = one(mapper.map({ ...row, LBSTRESU: 'mg/dL', LBSTRESN: '' }));
    expect(out).toMatchObject({ ok: true, record: { unit: 'mg/dL' } });
    expect(out.ok && 'value' in out.record).toBe(false);
    const noUnit = one(mapper.map({ ...row, LBSTRESU: null }));
    expect(noUnit.ok && 'unit' in noUnit.record).toBe(false);
  });

  it('makes a row unmapped with a reason and the field when a cell cannot be converted', () => {
    expect(one(mapper.map({ ...row, LBTESTCD: 'GGT' }))).toMatchObject({
      ok: false,
      reason: 'unknown_code',
      field: 'measure',
    });
    expect(one(mapper.map({ ...row, LBSTRESN: '<5' }))).toMatchObject({
      ok: false,
      reason: 'invalid_number',
      field: 'value',
    });
    expect(one(mapper.map({ ...row, LBDTC: '2026-01' }))).toMatchObject({
      ok: false,
      reason: 'invalid_timestamp',
      field: 'observedAt',
    });
    expect(one(mapper.map({ ...row, SITEID: '09' }))).toMatchObject({
      ok: false,
      reason: 'unknown_code',
      field: 'siteId',
    });
  });

  it('derives a stable eventId from the mapped event when none is mapped, and recordedAt from observedAt', () => {
    const { eventId: _, recordedAt: __, ...rest } = labMapping;
    const derived = mapperFor({ mapping: rest, topic: 'labs' });
    const a = one(derived.map(row));
    const b = one(derived.map({ ...row, USUBJID: 'ignored', LBSEQ: 99 }));
    const c = one(derived.map({ ...row, LBSTRESN: '18' }));
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!(a.ok && b.ok && c.ok)) return;
    expect(a.record.eventId).toMatch(/^fi-[0-9a-f]{24}$/);
    expect(b.record.eventId).toBe(a.record.eventId);
    expect(c.record.eventId).not.toBe(a.record.eventId);
    expect(one(mapperFor({ mapping: rest, topic: 'other-topic' }).map(row))).not.toEqual(a);
    expect(a.record.recordedAt).toBe(a.record.observedAt);
  });

  it('converts booleans from Y/N, yes/no, 1/0 and true/false', () => {
    const dose = mapperFor({
      mapping: {
        kind: 'dose',
        origin: 'app',
        patientId: 'p',
        siteId: 's',
        observedAt: 't',
        doseMg: 'mg',
        taken: 'taken',
      },
    });
    const base = { p: 'P1', s: 'site-01', t: '2026-01-05T09:00', mg: 100 };
    for (const [cell, expected] of [
      ['Y', true],
      ['no', false],
      [1, true],
      ['false', false],
    ] as const) {
      expect(one(dose.map({ ...base, taken: cell })), String(cell)).toMatchObject({
        ok: true,
        record: { taken: expected },
      });
    }
    expect(one(dose.map({ ...base, taken: 'maybe' }))).toMatchObject({
      ok: false,
      reason: 'invalid_boolean',
      field: 'taken',
    });
  });
});

describe('RowMapper: constants from the schema', () => {
  it("treats a bare value of a field's fixed set as a constant and anything else as a column", () => {
    const mapper = mapperFor({
      mapping: {
        kind: 'KIND',
        origin: 'device',
        patientId: 'P',
        siteId: 'S',
        observedAt: 'T',
        term: 'TERM',
        grade: 'G',
      },
    });
    const out = one(
      mapper.map({ KIND: 'adverse_event', P: 'P1', S: 'site-01', T: '2026-01-05', TERM: 'rash', G: '2' }),
    );
    expect(out).toMatchObject({ ok: true, record: { kind: 'adverse_event', origin: 'device', grade: 2 } });
  });

  it('maps to a schema of another domain: its fields, order and defaults, nothing clinical', () => {
    const mapper = mapperFor(
      {
        mapping: { meter: 'METER', at: { studyDay: 'DAY', reference: { const: '2024-01-01' } }, kwh: 'KWH' },
      },
      meterSchema,
    );
    const out = one(mapper.map({ METER: 'm-7', DAY: '2.5', KWH: '13.25' }));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(Object.keys(out.record)).toEqual(['readingId', 'meter', 'at', 'kwh']);
    expect(out.record).toMatchObject({ meter: 'm-7', at: '2024-01-03T12:00:00.000Z', kwh: 13.25 });
    expect(out.record.readingId).toMatch(/^fi-[0-9a-f]{24}$/);
  });
});

describe('RowMapper: wide rows (unpivot)', () => {
  const wide = mapperFor({
    mapping: { kind: 'lab', origin: 'ehr', patientId: 'id', siteId: 'site', observedAt: 'visit' },
    unpivot: {
      into: { name: 'measure', value: 'value' },
      columns: [
        { column: 'hb', as: 'haemoglobin', set: { unit: 'g/dL' } },
        { column: 'plt', as: 'platelets', set: { unit: '10^9/L' } },
        { column: 'weight', set: { kind: 'vital', unit: 'kg' } },
        { column: 'smoker', values: { no: 0, yes: 1 }, set: { unit: '1' } },
      ],
    },
    missing: ['NA', '.'],
  });
  const row = {
    id: 'P1',
    site: 's1',
    visit: '2026-02-01',
    hb: '13.5',
    plt: '210',
    weight: '70.2',
    smoker: 'yes',
  };

  it('gives one record per measured column, in column order, with its name, cell and set fields', () => {
    const out = wide.map(row);
    expect(out.map((o) => o.ok && o.record)).toEqual([
      expect.objectContaining({
        kind: 'lab',
        measure: 'haemoglobin',
        value: 13.5,
        unit: 'g/dL',
        patientId: 'P1',
      }),
      expect.objectContaining({ kind: 'lab', measure: 'platelets', value: 210, unit: '10^9/L' }),
      expect.objectContaining({ kind: 'vital', measure: 'weight', value: 70.2, unit: 'kg' }),
      expect.objectContaining({ kind: 'lab', measure: 'smoker', value: 1, unit: '1' }),
    ]);
    expect(out.map((o) => o.column)).toEqual(['hb', 'plt', 'weight', 'smoker']);
    const ids = out.map((o) => o.ok && o.record.eventId);
    expect(new Set(ids).size).toBe(4);
    expect(out.every((o) => o.ok && o.record.recordedAt === '2026-02-01T00:00:00.000Z')).toBe(true);
  });

  it('emits no record for a missing cell (a missing code, blank or null) and an unmapped one for a bad cell', () => {
    const out = wide.map({ ...row, hb: 'NA', plt: '', weight: '.', smoker: 'maybe' });
    expect(out).toEqual([
      expect.objectContaining({ ok: false, reason: 'unknown_code', field: 'value', column: 'smoker' }),
    ]);
    expect(wide.map({ ...row, hb: null, plt: ' ', weight: 'NA', smoker: '.' })).toEqual([]);
    expect(wide.map({ ...row, plt: 'lots' }).map((o) => o.ok || o.reason)).toEqual([
      true,
      'invalid_number',
      true,
      true,
    ]);
  });

  it('makes the whole row one unmapped outcome when a shared field cannot be converted', () => {
    expect(wide.map({ ...row, visit: '01/02/2026' })).toEqual([
      expect.objectContaining({ ok: false, reason: 'invalid_timestamp', field: 'observedAt' }),
    ]);
  });

  it('appends the column to a mapped id so the records of one row stay apart', () => {
    const withId = mapperFor({
      mapping: {
        eventId: 'visitId',
        kind: 'lab',
        origin: 'ehr',
        patientId: 'id',
        siteId: 'site',
        observedAt: 'visit',
        unit: 'units',
      },
      unpivot: { into: { name: 'measure', value: 'value' }, columns: ['hb', 'plt'] },
    });
    const out = withId.map({ ...row, visitId: 'V9', units: 'SI' });
    expect(out.map((o) => o.ok && o.record.eventId)).toEqual(['V9-hb', 'V9-plt']);
  });
});

describe('RowMapper: study days', () => {
  const at = (observedAt: unknown, cells: Record<string, string>) =>
    one(
      mapperFor({
        mapping: {
          kind: 'adverse_event',
          origin: 'site',
          patientId: 'id',
          siteId: 'site',
          grade: { const: 3 },
          term: { const: 'infection' },
          observedAt: observedAt as never,
        },
      }).map({ id: 'P1', site: 's', ...cells }),
    );

  it('counts elapsed days from a per-patient column or a constant date; fractions are hours', () => {
    const fromColumn = { studyDay: 'tstop', reference: { column: 'random' } };
    expect(at(fromColumn, { tstop: '219', random: '1989-06-07' })).toMatchObject({
      ok: true,
      record: { observedAt: '1990-01-12T00:00:00.000Z' },
    });
    expect(at(fromColumn, { tstop: '0', random: '1989-06-07' })).toMatchObject({
      record: { observedAt: '1989-06-07T00:00:00.000Z' },
    });
    expect(at({ studyDay: 'd', reference: { const: '1990-01-01' } }, { d: '-1.5' })).toMatchObject({
      record: { observedAt: '1989-12-30T12:00:00.000Z' },
    });
    expect(at({ studyDay: { const: 1 }, reference: { const: '2010-03-01T08:00' } }, {})).toMatchObject({
      record: { observedAt: '2010-03-02T08:00:00.000Z' },
    });
  });

  it('numbers CDISC study days from day 1 with no day 0', () => {
    const cdisc = { studyDay: 'DY', reference: { column: 'RFSTDTC' }, numbering: 'cdisc' };
    const day = (DY: string) => at(cdisc, { DY, RFSTDTC: '2026-01-10' });
    expect(day('1')).toMatchObject({ record: { observedAt: '2026-01-10T00:00:00.000Z' } });
    expect(day('8')).toMatchObject({ record: { observedAt: '2026-01-17T00:00:00.000Z' } });
    expect(day('-1')).toMatchObject({ record: { observedAt: '2026-01-09T00:00:00.000Z' } });
    expect(day('0')).toMatchObject({ ok: false, reason: 'invalid_study_day', field: 'observedAt' });
  });

  it('leaves the time out when the day or the reference is missing; bad cells are unmapped', () => {
    const spec = { studyDay: 'tstop', reference: { column: 'random' } };
    const noDay = at(spec, { tstop: '', random: '1989-06-07' });
    expect(noDay.ok && 'observedAt' in noDay.record).toBe(false);
    const noRef = at(spec, { tstop: '3', random: '' });
    expect(noRef.ok && 'observedAt' in noRef.record).toBe(false);
    expect(at(spec, { tstop: 'x', random: '1989-06-07' })).toMatchObject({
      ok: false,
      reason: 'invalid_study_day',
      field: 'observedAt',
    });
    expect(at(spec, { tstop: '3', random: '07/06/1989' })).toMatchObject({
      ok: false,
      reason: 'invalid_timestamp',
      field: 'observedAt',
    });
  });
});

describe('RowMapper: outcome tables (when)', () => {
  const outcomes = mapperFor({
    mapping: {
      kind: 'adverse_event',
      origin: 'site',
      patientId: 'id',
      siteId: 'center',
      observedAt: { studyDay: 'tstop', reference: { column: 'random' } },
      grade: { const: 3 },
      term: { const: 'serious_infection' },
    },
    when: { column: 'status', is: [1], isNot: [0] },
  });
  const row = { id: '1', center: 'NIH', random: '1989-06-07', tstop: '219', status: '1' };

  it('turns a status-1 row into an event at reference + time and a status-0 row into none', () => {
    expect(outcomes.map(row)).toEqual([
      expect.objectContaining({
        ok: true,
        record: expect.objectContaining({
          kind: 'adverse_event',
          grade: 3,
          term: 'serious_infection',
          observedAt: '1990-01-12T00:00:00.000Z',
        }),
      }),
    ]);
    expect(outcomes.map({ ...row, status: '0' })).toEqual([]);
    expect(outcomes.map({ ...row, status: ' 1 ' })).toHaveLength(1);
  });

  it('makes a status in neither list, or a missing one, unmapped (never silently dropped)', () => {
    expect(outcomes.map({ ...row, status: '2' })).toEqual([
      expect.objectContaining({ ok: false, reason: 'unknown_condition', field: null }),
    ]);
    expect(one(outcomes.map({ ...row, status: '' }))).toMatchObject({
      ok: false,
      reason: 'unknown_condition',
      message: expect.stringContaining('status is missing'),
    });
  });
});

describe('RowMapper: missing codes', () => {
  it('uses the file codes, or a column’s own codes, and leaves the field out elsewhere', () => {
    const mapper = mapperFor(
      {
        mapping: {
          kind: 'enrolment',
          origin: 'site',
          patientId: 'id',
          siteId: 'site',
          observedAt: { const: '2010-01-01' },
          age: 'age',
          sex: { column: 'sex', values: { '1_female': 'F', '2_male': 'M' } },
          arm: 'arm',
        },
        missingByColumn: { sex: ['NA_NA'] },
      },
      clinicalSchema,
      ['NA', '.'],
    );
    const ok = one(mapper.map({ id: '1', site: 's', age: 'NA', sex: 'NA_NA', arm: 'placebo' }));
    expect(ok.ok && ok.record).toEqual(expect.not.objectContaining({ age: expect.anything() }));
    expect(ok.ok && 'sex' in ok.record).toBe(false);
    // 'NA' is not a missing code of `sex` (its own list replaces the file's), so it is an unknown code.
    expect(one(mapper.map({ id: '1', site: 's', age: '.', sex: 'NA', arm: 'placebo' }))).toMatchObject({
      ok: false,
      reason: 'unknown_code',
      field: 'sex',
    });
  });
});
