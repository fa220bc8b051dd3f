import { describe, expect, it } from 'vitest';
import { fileImportConfig, type MappingInput } from '../config.js';
import { parseTimestamp, RowMapper } from './row-mapper.js';

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
  const mapper = new RowMapper(labMapping, 'labs');
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
    const out = mapper.map(row);
    expect(out.ok).toBe(true);
    expect(JSON.stringify(out.ok && out.event)).toBe(
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
    const out = mapper.map({ ...row, LBSTRESU: 'mg/dL', LBSTRESN: '' });
    expect(out).toMatchObject({ ok: true, event: { unit: 'mg/dL' } });
    expect(out.ok && 'value' in out.event).toBe(false);
    const noUnit = mapper.map({ ...row, LBSTRESU: null });
    expect(noUnit.ok && 'unit' in noUnit.event).toBe(false);
  });

  it('makes a row unmapped with a reason and the field when a cell cannot be converted', () => {
    expect(mapper.map({ ...row, LBTESTCD: 'GGT' })).toMatchObject({
      ok: false,
      reason: 'unknown_code',
      field: 'measure',
    });
    expect(mapper.map({ ...row, LBSTRESN: '<5' })).toMatchObject({
      ok: false,
      reason: 'invalid_number',
      field: 'value',
    });
    expect(mapper.map({ ...row, LBDTC: '2026-01' })).toMatchObject({
      ok: false,
      reason: 'invalid_timestamp',
      field: 'observedAt',
    });
    expect(mapper.map({ ...row, SITEID: '09' })).toMatchObject({
      ok: false,
      reason: 'unknown_code',
      field: 'siteId',
    });
  });

  it('derives a stable eventId from the mapped event when none is mapped, and recordedAt from observedAt', () => {
    const { eventId: _, recordedAt: __, ...rest } = labMapping;
    const derived = new RowMapper(rest, 'labs');
    const a = derived.map(row);
    const b = derived.map({ ...row, USUBJID: 'ignored', LBSEQ: 99 });
    const c = derived.map({ ...row, LBSTRESN: '18' });
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!(a.ok && b.ok && c.ok)) return;
    expect(a.event.eventId).toMatch(/^fi-[0-9a-f]{24}$/);
    expect(b.event.eventId).toBe(a.event.eventId);
    expect(c.event.eventId).not.toBe(a.event.eventId);
    expect(new RowMapper(rest, 'other-topic').map(row)).not.toEqual(a);
    expect(a.event.recordedAt).toBe(a.event.observedAt);
  });

  it('converts booleans from Y/N, yes/no, 1/0 and true/false', () => {
    const dose = new RowMapper(
      {
        kind: 'dose',
        origin: 'app',
        patientId: 'p',
        siteId: 's',
        observedAt: 't',
        doseMg: 'mg',
        taken: 'taken',
      },
      'doses',
    );
    const base = { p: 'P1', s: 'site-01', t: '2026-01-05T09:00', mg: 100 };
    for (const [cell, expected] of [
      ['Y', true],
      ['no', false],
      [1, true],
      ['false', false],
    ] as const) {
      expect(dose.map({ ...base, taken: cell }), String(cell)).toMatchObject({
        ok: true,
        event: { taken: expected },
      });
    }
    expect(dose.map({ ...base, taken: 'maybe' })).toMatchObject({
      ok: false,
      reason: 'invalid_boolean',
      field: 'taken',
    });
  });
});

describe('mapping config', () => {
  it('reports every missing required field with its path, per kind', () => {
    const result = fileImportConfig.safeParse({
      files: [
        { path: 'a.csv', topic: 'vitals', mapping: { kind: 'vital', origin: 'ehr', patientId: 'SUBJID' } },
        {
          path: 'b.csv',
          topic: 'x',
          mapping: {
            kind: { const: 'nonsense' },
            origin: 'ehr',
            patientId: 'P',
            siteId: 'S',
            observedAt: 'T',
            colour: 'C',
          },
        },
      ],
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(
      [
        'files.0.mapping.measure',
        'files.0.mapping.observedAt',
        'files.0.mapping.siteId',
        'files.0.mapping.unit',
        'files.0.mapping.value',
        'files.1.mapping',
        'files.1.mapping.kind',
      ].sort(),
    );
  });

  it('treats a bare kind or origin from their fixed set as a constant and anything else as a column', () => {
    const mapper = new RowMapper(
      {
        kind: 'KIND',
        origin: 'device',
        patientId: 'P',
        siteId: 'S',
        observedAt: 'T',
        term: 'TERM',
        grade: 'G',
      },
      'adverse-events',
    );
    const out = mapper.map({
      KIND: 'adverse_event',
      P: 'P1',
      S: 'site-01',
      T: '2026-01-05',
      TERM: 'rash',
      G: '2',
    });
    expect(out).toMatchObject({ ok: true, event: { kind: 'adverse_event', origin: 'device', grade: 2 } });
  });
});
