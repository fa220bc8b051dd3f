import { describe, expect, it } from 'vitest';
import { fileImportConfig } from '../config.js';
import { issuesOf, meterSchema } from '../testing/clinical-schema.js';

const base = { kind: 'lab', origin: 'ehr', patientId: 'id', siteId: 'site', observedAt: 'visit' } as const;

describe('compileMapping: the mapping checked against the job’s record schema', () => {
  it('accepts any field name in zod; unknown ones are reported at create, listing the known fields', () => {
    const parsed = fileImportConfig.safeParse({
      files: [{ path: 'a.csv', topic: 't', mapping: { colour: 'C' } }],
    });
    expect(parsed.success).toBe(true);
    const issues = issuesOf({ mapping: { ...base, measure: 'm', value: 'v', unit: 'u', colour: 'C' } });
    expect(issues).toEqual([
      {
        path: 'mapping.colour',
        message: expect.stringMatching(
          /'colour' is not a field of the job's records .*eventId, kind, patientId/,
        ),
      },
    ]);
  });

  it('reports every missing required and kind-required field with its path', () => {
    const issues = issuesOf({ mapping: { kind: 'vital', origin: 'ehr', patientId: 'SUBJID' } });
    expect(issues.map((i) => `${i.path}: ${i.message}`).sort()).toEqual([
      "mapping.measure: is required for kind 'vital'",
      'mapping.observedAt: is required for every record',
      'mapping.siteId: is required for every record',
      "mapping.unit: is required for kind 'vital'",
      "mapping.value: is required for kind 'vital'",
    ]);
  });

  it('checks the kinds a code list can give', () => {
    const issues = issuesOf({
      mapping: {
        ...base,
        kind: { column: 'DOMAIN', values: { VS: 'vital', AE: 'adverse_event' } },
        measure: 'm',
        value: 'v',
        unit: 'u',
      },
    });
    expect(issues.map((i) => `${i.path}: ${i.message}`).sort()).toEqual([
      "mapping.grade: is required for kind 'adverse_event'",
      "mapping.term: is required for kind 'adverse_event'",
    ]);
  });

  it('reports constants and code-list values outside a field’s set, or of the wrong type', () => {
    const issues = issuesOf({
      mapping: {
        ...base,
        kind: { const: 'nonsense' },
        origin: { column: 'SRC', values: { E: 'ehr', X: 'fax' } },
        measure: 'm',
        value: { const: 'high' },
        unit: 'u',
      },
    });
    expect(issues).toEqual([
      {
        path: 'mapping.kind.const',
        message: expect.stringContaining("'nonsense' is not one of kind's values (vital, lab"),
      },
      {
        path: 'mapping.origin.values.X',
        message: expect.stringContaining("'fax' is not one of origin's values"),
      },
      { path: 'mapping.value.const', message: '"high" is not a number' },
    ]);
  });

  it('allows study days only on timestamp fields and checks a constant reference date', () => {
    const issues = issuesOf({
      mapping: {
        ...base,
        observedAt: { studyDay: 'tstop', reference: { const: '07/06/1989' } },
        measure: 'm',
        value: { studyDay: 'tstop', reference: { column: 'random' } },
        unit: 'u',
      },
    });
    expect(issues).toEqual([
      {
        path: 'mapping.observedAt.reference.const',
        message: "'07/06/1989' is not an ISO 8601 date or date-time",
      },
      { path: 'mapping.value.studyDay', message: 'a study day makes a timestamp, but value is a number' },
    ]);
  });

  it('checks unpivot targets, per-column set fields and the kinds they make', () => {
    const issues = issuesOf({
      mapping: { ...base, value: 'x' },
      unpivot: {
        into: { name: 'measure', value: 'value' },
        columns: [
          { column: 'hb', set: { unit: 'g/dL' } },
          { column: 'weight', set: { kind: 'vitals', colour: 'red' } },
          'plt',
          'hb',
        ],
      },
    });
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      "unpivot.into.value: 'value' is filled by the unpivot, so the mapping must not map it too",
      "unpivot.columns[3]: 'hb' is listed twice (give one of them another `as`)",
    ]);
    const more = issuesOf({
      mapping: base,
      unpivot: {
        into: { name: 'measure', value: 'value' },
        columns: [
          { column: 'hb', set: { unit: 'g/dL' } },
          { column: 'weight', set: { kind: 'vitals', colour: 'red', unit: 'kg' } },
          'plt',
          { column: 'smoker', values: { yes: 'Y' }, set: { unit: '1' } },
        ],
      },
    });
    expect(more.map((i) => `${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^unpivot\.columns\[1\]\.set\.kind: kind: 'vitals' is not one of kind's values/),
      expect.stringMatching(
        /^unpivot\.columns\[1\]\.set\.colour: 'colour' is not a field of the job's records/,
      ),
      'unpivot.columns[3].values.yes: value: "Y" is not a number',
      "mapping.unit: is required for kind 'lab' (in the mapping, or in the `set` of unpivot columns plt)",
    ]);
    const shared = issuesOf({
      mapping: { ...base, unit: { const: '1' } },
      unpivot: {
        into: { name: 'measure', value: 'value' },
        values: { '0_no': 0, '1_yes': 'yes' },
        columns: [
          'sod',
          'pep',
          { column: 'type', values: { '0_no SOD': 0, '1_type 1': 1 } },
          { column: 'sod', as: 'sod2' },
        ],
      },
    });
    expect(shared).toEqual([{ path: 'unpivot.values.1_yes', message: 'value: "yes" is not a number' }]);
    expect(
      issuesOf({ mapping: base, unpivot: { into: { name: 'label', value: 'value' }, columns: ['hb'] } })[0],
    ).toEqual({ path: 'unpivot.into.name', message: expect.stringContaining("'label' is not a field") });
  });

  it('reports a value in both lists of when', () => {
    expect(
      issuesOf({
        mapping: { ...base, kind: 'adverse_event', grade: { const: 3 }, term: { const: 'x' } },
        when: { column: 'status', is: [1], isNot: ['1', 0] },
      }),
    ).toEqual([{ path: 'when.isNot', message: "'1' is in both is and isNot" }]);
  });

  it('needs nothing clinical: a schema without kinds checks only its own required fields', () => {
    expect(issuesOf({ mapping: { meter: 'M', at: 'T' } }, meterSchema)).toEqual([
      { path: 'mapping.kwh', message: 'is required for every record' },
    ]);
    expect(issuesOf({ mapping: { meter: 'M', at: 'T', kwh: 'K', kind: 'x' } }, meterSchema)[0]).toMatchObject(
      {
        path: 'mapping.kind',
        message: expect.stringContaining('readingId, meter, at, kwh, estimated'),
      },
    );
  });
});
