import type { FieldType, RecordSchema } from '@vigil/core';
import type { FieldSpec, ImportFile, StudyDaySpec, UnpivotColumn } from '../config.js';
import { type CellValue, convert, type FieldValue, parseTimestamp, Unmappable } from './convert-cell.js';

/** A problem with a file's mapping; `path` is relative to the file entry (`mapping.grade`). */
export interface MappingIssue {
  path: string;
  message: string;
}

/** How one field is filled, resolved against the schema. */
export type FieldPlan =
  | { field: string; type: FieldType; from: 'const'; value: FieldValue }
  | { field: string; type: FieldType; from: 'column'; column: string }
  | {
      field: string;
      type: FieldType;
      from: 'coded';
      column: string;
      values: Readonly<Record<string, FieldValue>>;
      keep: boolean;
    }
  | { field: string; type: FieldType; from: 'joined'; columns: readonly string[]; separator: string }
  | {
      field: string;
      type: 'timestamp';
      from: 'studyDay';
      day: { column: string } | { const: number };
      reference: { column: string } | { const: string };
      numbering: 'elapsed' | 'cdisc';
    };

/** One measured column of a wide row, resolved. */
export interface ColumnPlan {
  column: string;
  /** What goes into the name field. */
  name: FieldValue;
  values: Readonly<Record<string, FieldValue>> | undefined;
  keep: boolean;
  /** Constant fields of this column's records, converted. */
  set: Readonly<Record<string, FieldValue>>;
}

/** A column a file entry reads, for the check against the file's header. */
export interface ColumnUse {
  /** Path of the spec that reads it, relative to the file entry. */
  at: string;
  column: string;
  /** Said after "not in the file" (e.g. that a bare value is not a constant either). */
  hint?: string;
}

/** A file entry's mapping, checked against the job's record schema. */
export interface MappingPlan {
  /** Every schema field, in the order records are written. */
  order: readonly string[];
  types: Readonly<Record<string, FieldType>>;
  fields: readonly FieldPlan[];
  unpivot: { nameField: string; valueField: string; columns: readonly ColumnPlan[] } | undefined;
  when: { column: string; is: ReadonlySet<string>; isNot: ReadonlySet<string> } | undefined;
  /** Defaulted string fields left unmapped: filled with a content hash (`fi-…`). */
  hashed: readonly string[];
  /** Defaulted string fields that are mapped: with unpivot, the column name is appended so ids stay unique. */
  mappedIds: readonly string[];
  /** Defaulted timestamp fields left unmapped, with the field they copy. */
  copies: readonly (readonly [string, string])[];
  /** Missing codes of each column (`*` for the file's default). */
  missing: (column: string) => ReadonlySet<string>;
  columns: readonly ColumnUse[];
}

const list = (values: readonly string[]) => values.join(', ');

function valueIssue(
  field: string,
  type: FieldType,
  value: CellValue,
  enums: readonly string[] | undefined,
): { value: FieldValue } | { message: string } {
  try {
    const converted = convert(field, type, value);
    if (enums && !enums.includes(String(converted))) {
      return { message: `'${String(value)}' is not one of ${field}'s values (${list(enums)})` };
    }
    return { value: converted };
  } catch (error) {
    if (error instanceof Unmappable) return { message: `${String(JSON.stringify(value))} is not a ${type}` };
    throw error;
  }
}

/**
 * Check one file entry against the job's record schema and resolve it into a plan:
 * unknown target fields, missing required and kind-required fields, constants and code
 * lists outside a field's fixed set or of the wrong type, study days on non-timestamp
 * fields. Every problem is returned, none thrown.
 */
export function compileMapping(
  file: ImportFile,
  schema: RecordSchema,
  defaultMissing: readonly string[],
): { plan: MappingPlan; issues: MappingIssue[] } {
  const issues: MappingIssue[] = [];
  const columns: ColumnUse[] = [];
  const types = schema.fields;
  const order = Object.keys(types);
  const known = `fields of the job's records: ${list(order)}`;
  const enums = schema.enums ?? {};
  const isField = (name: string) => Object.hasOwn(types, name);

  const fields: FieldPlan[] = [];
  for (const [field, spec] of Object.entries(file.mapping)) {
    const at = `mapping.${field}`;
    if (!isField(field)) {
      issues.push({ path: at, message: `'${field}' is not a field of the job's records (${known})` });
      continue;
    }
    const plan = compileField(field, types[field]!, spec, enums[field], at, issues, columns);
    if (plan) fields.push(plan);
  }
  // Fields the mapping names (an invalid spec is reported once, not again as missing).
  const mapped = new Set(Object.keys(file.mapping).filter(isField));

  let unpivot: MappingPlan['unpivot'];
  if (file.unpivot) {
    const { into } = file.unpivot;
    let ok = true;
    for (const [key, field] of [
      ['name', into.name],
      ['value', into.value],
    ] as const) {
      if (!isField(field)) {
        issues.push({
          path: `unpivot.into.${key}`,
          message: `'${field}' is not a field of the job's records (${known})`,
        });
        ok = false;
      } else if (Object.hasOwn(file.mapping, field)) {
        issues.push({
          path: `unpivot.into.${key}`,
          message: `'${field}' is filled by the unpivot, so the mapping must not map it too`,
        });
        ok = false;
      }
    }
    if (into.name === into.value) {
      issues.push({ path: 'unpivot.into', message: `name and value go into the same field '${into.name}'` });
      ok = false;
    }
    const seen = new Set<string>();
    const plans: ColumnPlan[] = [];
    for (const [j, entry] of file.unpivot.columns.entries()) {
      const at = `unpivot.columns[${j}]`;
      const own: Exclude<UnpivotColumn, string> = typeof entry === 'string' ? { column: entry } : entry;
      const c = {
        ...own,
        values: own.values ?? file.unpivot.values,
        otherwise: own.otherwise ?? file.unpivot.otherwise,
      };
      const label = String('as' in c && c.as !== undefined ? c.as : c.column);
      if (seen.has(label)) {
        issues.push({ path: at, message: `'${label}' is listed twice (give one of them another \`as\`)` });
      }
      seen.add(label);
      columns.push({ at, column: c.column });
      if (!ok) continue;
      const nameType = types[into.name]!;
      const valueType = types[into.value]!;
      const name = valueIssue(
        into.name,
        nameType,
        'as' in c && c.as !== undefined ? c.as : c.column,
        enums[into.name],
      );
      if ('message' in name) issues.push({ path: `${at}.as`, message: `${into.name}: ${name.message}` });
      let values: Record<string, FieldValue> | undefined;
      if (c.values) {
        values = {};
        const own = typeof entry !== 'string' && entry.values !== undefined;
        for (const [code, raw] of Object.entries(c.values)) {
          const v = valueIssue(into.value, valueType, raw, enums[into.value]);
          const where = own ? `${at}.values.${code}` : `unpivot.values.${code}`;
          if ('message' in v) issues.push({ path: where, message: `${into.value}: ${v.message}` });
          else values[code] = v.value;
        }
      }
      const set: Record<string, FieldValue> = {};
      for (const [field, raw] of Object.entries(('set' in c && c.set) || {})) {
        const p = `${at}.set.${field}`;
        if (!isField(field)) {
          issues.push({ path: p, message: `'${field}' is not a field of the job's records (${known})` });
        } else if (field === into.name || field === into.value) {
          issues.push({ path: p, message: `'${field}' is filled by the unpivot itself` });
        } else {
          const v = valueIssue(field, types[field]!, raw, enums[field]);
          if ('message' in v) issues.push({ path: p, message: `${field}: ${v.message}` });
          else set[field] = v.value;
        }
      }
      if ('value' in name) {
        plans.push({ column: c.column, name: name.value, values, keep: c.otherwise === 'keep', set });
      }
    }
    unpivot = { nameField: into.name, valueField: into.value, columns: plans };
  }

  // Required and kind-required fields, per variant (one, or one per unpivoted column).
  const required = schema.required.filter((f) => !(schema.defaulted ?? []).includes(f));
  const variants: { filled: Set<string>; set: Readonly<Record<string, FieldValue>>; column?: string }[] =
    unpivot
      ? unpivot.columns.map((c) => ({
          filled: new Set([...mapped, unpivot!.nameField, unpivot!.valueField, ...Object.keys(c.set)]),
          set: c.set,
          column: c.column,
        }))
      : [{ filled: mapped, set: {} }];
  const missingFields = new Map<string, { why: string; columns: string[] }>();
  const need = (field: string, why: string, column: string | undefined) => {
    const key = `${field}\u0000${why}`;
    const entry = missingFields.get(key) ?? { why, columns: [] };
    if (column !== undefined) entry.columns.push(column);
    missingFields.set(key, entry);
  };
  const disc = schema.discriminator;
  for (const variant of variants) {
    for (const field of required)
      if (!variant.filled.has(field)) need(field, 'for every record', variant.column);
    if (!disc) continue;
    for (const kind of possibleValues(disc.field, variant.set, fields)) {
      const extra = disc.kinds[kind];
      if (extra === undefined) continue; // reported as an enum or kind problem below
      for (const field of extra) {
        if (!variant.filled.has(field)) need(field, `for ${disc.field} '${kind}'`, variant.column);
      }
    }
  }
  for (const [key, { why, columns: cols }] of missingFields) {
    const field = key.split('\u0000')[0]!;
    const where = unpivot ? ` (in the mapping, or in the \`set\` of unpivot columns ${list(cols)})` : '';
    issues.push({ path: `mapping.${field}`, message: `is required ${why}${where}` });
  }
  if (disc && !enums[disc.field]) {
    const kinds = Object.keys(disc.kinds);
    for (const plan of fields) {
      if (plan.field === disc.field && plan.from === 'const' && !kinds.includes(String(plan.value))) {
        issues.push({
          path: `mapping.${disc.field}`,
          message: `'${String(plan.value)}' is not a ${disc.field} (${list(kinds)})`,
        });
      }
    }
  }

  let when: MappingPlan['when'];
  if (file.when) {
    const is = new Set(file.when.is.map(String));
    const isNot = new Set(file.when.isNot.map(String));
    for (const v of is) {
      if (isNot.has(v)) issues.push({ path: 'when.isNot', message: `'${v}' is in both is and isNot` });
    }
    columns.push({ at: 'when.column', column: file.when.column });
    when = { column: file.when.column, is, isNot };
  }

  for (const column of Object.keys(file.missingByColumn ?? {})) {
    columns.push({ at: `missingByColumn.${column}`, column });
  }
  const fileMissing = new Set(file.missing ?? defaultMissing);
  const byColumn = new Map(
    Object.entries(file.missingByColumn ?? {}).map(([c, codes]) => [c, new Set(codes)]),
  );
  const missing = (column: string) => byColumn.get(column) ?? fileMissing;

  const defaulted = (schema.defaulted ?? []).filter(isField);
  const filledAnywhere = new Set([...mapped, ...(unpivot ? [unpivot.nameField, unpivot.valueField] : [])]);
  const hashed = defaulted.filter((f) => types[f] === 'string' && !filledAnywhere.has(f));
  const mappedIds = defaulted.filter((f) => types[f] === 'string' && mapped.has(f));
  const firstTime = required.find((f) => types[f] === 'timestamp');
  const copies = defaulted
    .filter((f) => types[f] === 'timestamp' && !filledAnywhere.has(f) && firstTime !== undefined)
    .map((f) => [f, firstTime!] as const);

  const unique = new Map(issues.map((i) => [`${i.path}\u0000${i.message}`, i]));
  return {
    plan: { order, types, fields, unpivot, when, hashed, mappedIds, copies, missing, columns },
    issues: [...unique.values()],
  };
}

/** The values the discriminator can take for a variant, when the mapping fixes them (constant or code list). */
function possibleValues(
  field: string,
  set: Readonly<Record<string, FieldValue>>,
  fields: readonly FieldPlan[],
) {
  if (Object.hasOwn(set, field)) return [String(set[field])];
  const plan = fields.find((f) => f.field === field);
  if (!plan) return [];
  if (plan.from === 'const') return [String(plan.value)];
  if (plan.from === 'coded' && !plan.keep) return [...new Set(Object.values(plan.values).map(String))];
  return [];
}

function compileField(
  field: string,
  type: FieldType,
  spec: FieldSpec,
  enums: readonly string[] | undefined,
  at: string,
  issues: MappingIssue[],
  columns: ColumnUse[],
): FieldPlan | undefined {
  if (typeof spec === 'string') {
    if (enums?.includes(spec)) return { field, type, from: 'const', value: spec };
    columns.push({
      at,
      column: spec,
      ...(enums ? { hint: `nor is '${spec}' one of ${field}'s values (${list(enums)})` } : {}),
    });
    return { field, type, from: 'column', column: spec };
  }
  if ('const' in spec) {
    const v = valueIssue(field, type, spec.const, enums);
    if ('message' in v) {
      issues.push({ path: `${at}.const`, message: v.message });
      return undefined;
    }
    return { field, type, from: 'const', value: v.value };
  }
  if ('studyDay' in spec) return compileStudyDay(field, type, spec, at, issues, columns);
  if ('columns' in spec) {
    for (const [k, column] of spec.columns.entries()) columns.push({ at: `${at}.columns[${k}]`, column });
    return { field, type, from: 'joined', columns: spec.columns, separator: spec.separator };
  }
  columns.push({ at: `${at}.column`, column: spec.column });
  if (spec.values === undefined) return { field, type, from: 'column', column: spec.column };
  const values: Record<string, FieldValue> = {};
  for (const [code, raw] of Object.entries(spec.values)) {
    const v = valueIssue(field, type, raw, enums);
    if ('message' in v) issues.push({ path: `${at}.values.${code}`, message: v.message });
    else values[code] = v.value;
  }
  return { field, type, from: 'coded', column: spec.column, values, keep: spec.otherwise === 'keep' };
}

function compileStudyDay(
  field: string,
  type: FieldType,
  spec: StudyDaySpec,
  at: string,
  issues: MappingIssue[],
  columns: ColumnUse[],
): FieldPlan | undefined {
  let ok = true;
  if (type !== 'timestamp') {
    issues.push({
      path: `${at}.studyDay`,
      message: `a study day makes a timestamp, but ${field} is a ${type}`,
    });
    ok = false;
  }
  const day = typeof spec.studyDay === 'string' ? { column: spec.studyDay } : spec.studyDay;
  if ('column' in day) columns.push({ at: `${at}.studyDay`, column: day.column });
  else if (spec.numbering === 'cdisc' && day.const === 0) {
    issues.push({ path: `${at}.studyDay.const`, message: 'day 0 does not exist with numbering cdisc' });
    ok = false;
  }
  let reference: { column: string } | { const: string };
  if ('column' in spec.reference) {
    columns.push({ at: `${at}.reference.column`, column: spec.reference.column });
    reference = spec.reference;
  } else {
    const iso = parseTimestamp(spec.reference.const);
    if (iso === undefined) {
      issues.push({
        path: `${at}.reference.const`,
        message: `'${spec.reference.const}' is not an ISO 8601 date or date-time`,
      });
      ok = false;
    }
    reference = { const: iso ?? '' };
  }
  return ok
    ? { field, type: 'timestamp', from: 'studyDay', day, reference, numbering: spec.numbering }
    : undefined;
}
