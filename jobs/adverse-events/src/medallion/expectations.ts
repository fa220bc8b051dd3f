import type { FieldType } from '@vigil/core';
import { VigilError } from '@vigil/core';
import { z } from 'zod';
import { EVENT_KINDS } from '../domain/clinical-event.js';
import { BASE_FIELDS, KIND_FIELDS, ORIGINS } from '../domain/event-schema.js';
import { durationSeconds } from '../features/duration.js';
import { type Catalog, catalogMeasureNames, DEFAULT_CATALOG } from './catalog-config.js';
import { sqlString } from './duckdb-session.js';

/**
 * What an expectation requires of a row's column. Row rules (`not_null`, `between`,
 * `in_set`, `regex`) judge each row on its own; set rules (`unique`, `rate_of_change`)
 * judge a row against the others and run on the rows that would reach silver.
 */
export type ExpectationRule =
  | { type: 'not_null' }
  | { type: 'between'; min?: number; max?: number; integer?: boolean }
  | { type: 'in_set'; values: readonly (string | number | boolean)[] }
  | { type: 'regex'; pattern: string }
  | { type: 'unique'; with: readonly string[] }
  | { type: 'rate_of_change'; max: number; perSeconds: number };

/**
 * One data-quality expectation silver runs: a failing row is quarantined with `reason` =
 * `name` and `field` = `column`. A row's target: `measure` (vitals/labs of that measure; its
 * `value` is the canonical value), `sign` (symptom events of that sign), `kinds`, or every row.
 */
export interface Expectation {
  name: string;
  kinds?: readonly string[];
  measure?: string;
  sign?: string;
  /** Event field judged (payload name, e.g. `value`, `siteId`). */
  column: string;
  rule: ExpectationRule;
}

export const isSetRule = (rule: ExpectationRule): boolean =>
  rule.type === 'unique' || rule.type === 'rate_of_change';

/** Every event field and its JSON type (base fields and every kind's own). */
export const EVENT_FIELD_TYPES: Readonly<Record<string, FieldType>> = Object.fromEntries([
  ...BASE_FIELDS,
  ...Object.values(KIND_FIELDS).flat(),
]);

/** Names silver's fixed checks use; an expectation from config may not reuse them. */
export const FIXED_CHECK_NAMES = [
  'oversized',
  'invalid_json',
  'unmapped',
  'missing_field',
  'wrong_type',
  'unknown_kind',
  'wrong_topic',
  'missing_unit',
  'invalid_value',
  'unknown_measure',
  'unknown_unit',
  'out_of_range',
  'future_timestamp',
  'unknown_patient',
  'duplicate_event_id',
] as const;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const expectationConfigSchema = z
  .strictObject({
    name: z
      .string()
      .regex(IDENT, 'an expectation name is an identifier (letters, digits, _)')
      .refine((n) => !(FIXED_CHECK_NAMES as readonly string[]).includes(n), {
        message: 'this name is a built-in quarantine reason; choose another',
      })
      .describe('Name of the expectation: the quarantine `reason` of the rows that fail it.'),
    description: z.string().optional().describe('What the expectation guards against.'),
    measure: z
      .string()
      .optional()
      .describe(
        'Measure it applies to (its vitals or labs); the column defaults to `value`, the canonical value.',
      ),
    sign: z.string().optional().describe('Sign it applies to (symptom events with that `symptom`).'),
    kind: z
      .enum(EVENT_KINDS)
      .optional()
      .describe('Event kind it applies to; without measure, sign or kind it applies to every event.'),
    column: z
      .string()
      .optional()
      .describe(
        'Event field judged, as the payload names it (e.g. siteId, age, value); default `value` for a measure.',
      ),
    notNull: z.literal(true).optional().describe('The column is present and not null.'),
    between: z
      .strictObject({
        min: z.number().optional().describe('Lowest allowed value (inclusive).'),
        max: z.number().optional().describe('Highest allowed value (inclusive).'),
        integer: z.boolean().optional().describe('The value must also be a whole number.'),
      })
      .optional()
      .describe(
        'The column is a number within [min, max]; a measure’s value is compared in its canonical unit.',
      ),
    inSet: z.array(scalar).min(1).optional().describe('The column is one of these values.'),
    unique: z
      .union([
        z.literal(true),
        z.strictObject({
          with: z
            .array(z.string())
            .min(1)
            .describe('Further columns that, with `column`, must be unique together.'),
        }),
      ])
      .optional()
      .describe(
        'No two rows share the value (first arrival wins; judged on the rows that would reach silver).',
      ),
    regex: z
      .string()
      .refine(
        (p) => {
          try {
            new RegExp(p);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'not a valid regular expression' },
      )
      .optional()
      .describe(
        'The column matches this regular expression somewhere (anchor with ^…$ for the whole value).',
      ),
    rateOfChange: z
      .strictObject({
        max: z.number().positive().describe('Largest allowed change (canonical unit) per `per`.'),
        per: z
          .union([z.string(), z.number().positive()])
          .refine((v) => (durationSeconds(v) ?? 0) > 0, {
            message: 'expected a duration such as 1d, 12h or a number of seconds',
          })
          .describe('Time the change is measured over, e.g. 1d.'),
      })
      .optional()
      .describe(
        'A measure’s reading may differ from the patient’s previous accepted reading by at most max per `per`.',
      ),
  })
  .superRefine((e, ctx) => {
    const rules = (['notNull', 'between', 'inSet', 'unique', 'regex', 'rateOfChange'] as const).filter(
      (r) => e[r] !== undefined,
    );
    if (rules.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `give exactly one of notNull, between, inSet, unique, regex, rateOfChange (found ${rules.length ? rules.join(', ') : 'none'})`,
      });
    }
    const targets = (['measure', 'sign'] as const).filter((t) => e[t] !== undefined);
    if (targets.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['sign'], message: 'give measure or sign, not both' });
    }
    if (e.measure === undefined && e.column === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['column'],
        message: 'column is required (unless measure is given)',
      });
    }
    if (e.column !== undefined && !Object.hasOwn(EVENT_FIELD_TYPES, e.column)) {
      ctx.addIssue({
        code: 'custom',
        path: ['column'],
        message: `unknown field '${e.column}' (fields: ${Object.keys(EVENT_FIELD_TYPES).join(', ')})`,
      });
    }
    if (e.unique && e.unique !== true) {
      e.unique.with.forEach((c, i) => {
        if (!Object.hasOwn(EVENT_FIELD_TYPES, c)) {
          ctx.addIssue({ code: 'custom', path: ['unique', 'with', i], message: `unknown field '${c}'` });
        }
      });
    }
    if (e.between && e.between.min === undefined && e.between.max === undefined) {
      ctx.addIssue({ code: 'custom', path: ['between'], message: 'give min, max or both' });
    }
    if (e.between?.min !== undefined && e.between.max !== undefined && e.between.min > e.between.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['between'],
        message: `min ${e.between.min} is greater than max ${e.between.max}`,
      });
    }
    if (e.rateOfChange && e.measure === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rateOfChange'], message: 'rateOfChange needs a measure' });
    }
    if (e.rateOfChange && e.column !== undefined && e.column !== 'value') {
      ctx.addIssue({
        code: 'custom',
        path: ['column'],
        message: 'rateOfChange judges a measure’s value; remove column',
      });
    }
  })
  .describe('A data-quality expectation (Great Expectations style) silver runs on every build.');

/** `job.data.expectations`: data-quality rules silver runs after the built-in suite. */
export const expectationsConfigSchema = z
  .array(expectationConfigSchema)
  .describe(
    'Data-quality expectations per measure, sign, kind or column: notNull, between, inSet, unique, regex, rateOfChange. A failing row is quarantined under the expectation’s name.',
  );

export type ExpectationsConfig = z.input<typeof expectationsConfigSchema>;

/**
 * The built-in suite, from the catalogue: enumerated fields in their sets (`invalid_value`),
 * known measures (`unknown_measure`) and units (`unknown_unit`), and plausible ranges after
 * unit normalisation (`out_of_range`), in the order silver has always checked them.
 */
export function defaultExpectationSuite(catalog: Catalog = DEFAULT_CATALOG): Expectation[] {
  const suite: Expectation[] = [
    { name: 'invalid_value', column: 'origin', rule: { type: 'in_set', values: ORIGINS } },
    {
      name: 'invalid_value',
      kinds: ['symptom'],
      column: 'symptom',
      rule: { type: 'in_set', values: Object.keys(catalog.signs) },
    },
    {
      name: 'invalid_value',
      kinds: ['enrolment'],
      column: 'sex',
      rule: { type: 'in_set', values: ['F', 'M'] },
    },
    {
      name: 'invalid_value',
      kinds: ['enrolment'],
      column: 'arm',
      rule: { type: 'in_set', values: ['treatment', 'placebo'] },
    },
  ];
  for (const kind of ['vital', 'lab'] as const) {
    suite.push({
      name: 'unknown_measure',
      kinds: [kind],
      column: 'measure',
      rule: { type: 'in_set', values: catalogMeasureNames(catalog, kind) },
    });
  }
  for (const [measure, spec] of Object.entries(catalog.measures)) {
    suite.push({
      name: 'unknown_unit',
      measure,
      column: 'unit',
      rule: { type: 'in_set', values: spec.units.map((u) => u.unit) },
    });
  }
  for (const [measure, spec] of Object.entries(catalog.measures)) {
    suite.push({
      name: 'out_of_range',
      measure,
      column: 'value',
      rule: { type: 'between', min: spec.min, max: spec.max },
    });
  }
  suite.push({
    name: 'out_of_range',
    kinds: ['dose'],
    column: 'doseMg',
    rule: { type: 'between', min: 0, max: 10000 },
  });
  for (const [sign, spec] of Object.entries(catalog.signs)) {
    suite.push({
      name: 'out_of_range',
      sign,
      column: 'severity',
      rule: { type: 'between', min: 0, max: spec.max, integer: true },
    });
  }
  suite.push(
    {
      name: 'out_of_range',
      kinds: ['adverse_event'],
      column: 'grade',
      rule: { type: 'between', min: 1, max: 5, integer: true },
    },
    {
      name: 'out_of_range',
      kinds: ['enrolment'],
      column: 'age',
      rule: { type: 'between', min: 0, max: 120, integer: true },
    },
  );
  return suite;
}

/**
 * The suite silver runs: the built-in one, then the configured expectations (`job.data.expectations`)
 * checked against the catalogue (a measure or sign must exist; a kind must match the measure's).
 * Every problem is reported at once with its path under `path` (default `job.data.expectations`).
 */
export function buildExpectationSuite(
  config: unknown,
  catalog: Catalog = DEFAULT_CATALOG,
  options: { path?: string } = {},
): Expectation[] {
  const prefix = options.path ?? 'job.data.expectations';
  const at = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.');
  const parsed = expectationsConfigSchema.safeParse(config ?? []);
  const issues: { path: string; message: string }[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push({ path: at(i.path), message: i.message });
  }
  const configured: Expectation[] = [];
  if (parsed.success) {
    parsed.data.forEach((e, i) => {
      let kinds: string[] | undefined = e.kind ? [e.kind] : undefined;
      if (e.measure !== undefined) {
        const spec = catalog.measures[e.measure];
        if (!spec) {
          issues.push({
            path: at([i, 'measure']),
            message: `unknown measure '${e.measure}' (known: ${Object.keys(catalog.measures).join(', ')})`,
          });
          return;
        }
        if (e.kind && e.kind !== spec.kind) {
          issues.push({
            path: at([i, 'kind']),
            message: `'${e.measure}' is a ${spec.kind}, not a ${e.kind}`,
          });
          return;
        }
        kinds = undefined;
      }
      if (e.sign !== undefined) {
        if (!catalog.signs[e.sign]) {
          issues.push({
            path: at([i, 'sign']),
            message: `unknown sign '${e.sign}' (known: ${Object.keys(catalog.signs).join(', ')})`,
          });
          return;
        }
        if (e.kind && e.kind !== 'symptom') {
          issues.push({ path: at([i, 'kind']), message: 'a sign arrives as a symptom event' });
          return;
        }
        kinds = undefined;
      }
      const rule: ExpectationRule = e.notNull
        ? { type: 'not_null' }
        : e.between
          ? {
              type: 'between',
              ...(e.between.min !== undefined ? { min: e.between.min } : {}),
              ...(e.between.max !== undefined ? { max: e.between.max } : {}),
              ...(e.between.integer ? { integer: true } : {}),
            }
          : e.inSet
            ? { type: 'in_set', values: e.inSet }
            : e.regex !== undefined
              ? { type: 'regex', pattern: e.regex }
              : e.unique
                ? { type: 'unique', with: e.unique === true ? [] : e.unique.with }
                : {
                    type: 'rate_of_change',
                    max: e.rateOfChange!.max,
                    perSeconds: durationSeconds(e.rateOfChange!.per)!,
                  };
      configured.push({
        name: e.name,
        ...(kinds ? { kinds } : {}),
        ...(e.measure !== undefined ? { measure: e.measure } : {}),
        ...(e.sign !== undefined ? { sign: e.sign } : {}),
        column: e.column ?? 'value',
        rule,
      });
    });
  }
  if (issues.length > 0) {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `expectations have ${issues.length} problem(s):\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
      { details: { issues } },
    );
  }
  return [...defaultExpectationSuite(catalog), ...configured];
}

// ---------------------------------------------------------------------------------------------
// SQL over silver's parsed columns (`s_<field>` text, `t_<field>` JSON type, typed `num_*`,
// `observed_at`, `recorded_at`, `value_norm`): see silver.ts.

/** A number as an exact DOUBLE literal (a bare decimal literal would be a DECIMAL, rounded on its way to DOUBLE). */
export const double = (n: number) => `CAST('${n}' AS DOUBLE)`;
const list = (values: readonly string[]) => values.map(sqlString).join(', ');

/** Typed numeric columns silver derives for the number fields. */
const NUMERIC_COLUMNS: Readonly<Record<string, string>> = {
  value: 'num_value',
  doseMg: 'num_doseMg',
  severity: 'num_severity',
  grade: 'num_grade',
  age: 'num_age',
};

/** The SQL condition selecting the rows an expectation applies to (null: every row). */
export function expectationTargetSql(e: Expectation, catalog: Catalog): string | null {
  if (e.measure !== undefined) {
    const kind = catalog.measures[e.measure]?.kind ?? 'vital';
    return `s_kind = ${sqlString(kind)} AND s_measure = ${sqlString(e.measure)}`;
  }
  if (e.sign !== undefined) return `s_kind = 'symptom' AND s_symptom = ${sqlString(e.sign)}`;
  if (e.kinds && e.kinds.length === 1) return `s_kind = ${sqlString(e.kinds[0]!)}`;
  if (e.kinds && e.kinds.length > 1) return `s_kind IN (${list(e.kinds)})`;
  return null;
}

/** The number an expectation compares: a measure's canonical value, a typed number field, or the text cast. */
function numberSql(e: Expectation): string {
  if (e.column === 'value' && e.measure !== undefined) return 'value_norm';
  return NUMERIC_COLUMNS[e.column] ?? `TRY_CAST(s_${e.column} AS DOUBLE)`;
}

/** The failure condition of a row rule (true = the row fails), without the target. */
export function rowRuleFailureSql(e: Expectation): string {
  const f = e.column;
  const present = `(t_${f} IS NOT NULL AND t_${f} <> 'NULL')`;
  switch (e.rule.type) {
    case 'not_null':
      return `NOT ${present}`;
    case 'between': {
      const x = numberSql(e);
      const parts: string[] = [];
      if (e.rule.integer) parts.push(`${x} <> round(${x})`);
      if (e.rule.min !== undefined) parts.push(`${x} < ${double(e.rule.min)}`);
      if (e.rule.max !== undefined) parts.push(`${x} > ${double(e.rule.max)}`);
      // A value that is there but is not a number cannot be within a range.
      if (EVENT_FIELD_TYPES[f] !== 'number') parts.unshift(`(${present} AND ${x} IS NULL)`);
      return `(${parts.join(' OR ')})`;
    }
    case 'in_set': {
      const values = e.rule.values;
      if (values.length > 0 && values.every((v) => typeof v === 'number')) {
        return `${numberSql(e)} NOT IN (${(values as number[]).map(double).join(', ')})`;
      }
      return `s_${f} NOT IN (${list(values.map(String))})`;
    }
    case 'regex':
      return `NOT regexp_matches(s_${f}, ${sqlString(e.rule.pattern)})`;
    case 'unique':
    case 'rate_of_change':
      throw new Error(`'${e.rule.type}' is a set rule, not a row rule`);
  }
}

/** The column a set rule reads from silver's `checked` table (typed where silver types it). */
export function checkedColumnSql(e: Expectation, column: string): string {
  if (column === 'value' && e.measure !== undefined) return 'value_norm';
  if (column === 'observedAt') return 'observed_at';
  if (column === 'recordedAt') return 'recorded_at';
  return NUMERIC_COLUMNS[column] ?? `s_${column}`;
}
