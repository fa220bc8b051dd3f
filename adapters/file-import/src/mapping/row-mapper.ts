import { createHash } from 'node:crypto';
import type { ColumnPlan, FieldPlan, MappingPlan } from './compile-mapping.js';
import {
  type CellValue,
  cellText,
  convert,
  type FieldValue,
  parseNumber,
  parseTimestamp,
  type Row,
  studyDayTimestamp,
  Unmappable,
  type UnmappedReason,
} from './convert-cell.js';

export type MappedRecord = Record<string, FieldValue>;

/** What one row gives: a mapped record, or the reason it (or one of its measured columns) could not be mapped. */
export type MapOutcome =
  | { ok: true; record: MappedRecord; column?: string }
  | { ok: false; reason: UnmappedReason; field: string | null; message: string; column?: string };

/**
 * Maps the rows of one extract to records of the job's schema by a compiled mapping.
 * A row gives one record; with `when`, none when its condition cell is in `isNot`; with
 * `unpivot`, one per measured column whose cell is not missing. Missing cells elsewhere
 * leave their field out (the job's validation names it); cells that cannot be converted
 * make the row (or that column) unmapped. Defaulted string fields left unmapped get
 * `fi-` + a hash of the topic and the mapped record, so re-importing a file gives the same
 * ids; defaulted timestamp fields copy the first required timestamp field.
 */
export class RowMapper {
  readonly #plan: MappingPlan;
  readonly #topic: string;

  constructor(plan: MappingPlan, topic: string) {
    this.#plan = plan;
    this.#topic = topic;
  }

  /** The cell of `column`, or undefined when it is missing (null, blank, or one of the column's missing codes). */
  #cell(row: Row, column: string): Exclude<CellValue, null> | undefined {
    const value = row[column];
    if (value === null || value === undefined) return undefined;
    const text = cellText(value);
    if (text === '' || this.#plan.missing(column).has(text)) return undefined;
    return value;
  }

  #resolve(plan: FieldPlan, row: Row): FieldValue | undefined {
    switch (plan.from) {
      case 'const':
        return plan.value;
      case 'column': {
        const cell = this.#cell(row, plan.column);
        return cell === undefined ? undefined : convert(plan.field, plan.type, cell);
      }
      case 'coded': {
        const cell = this.#cell(row, plan.column);
        if (cell === undefined) return undefined;
        return this.#decode(plan.field, plan.type, plan.column, cell, plan.values, plan.keep);
      }
      case 'joined': {
        const parts = plan.columns.map((c) => this.#cell(row, c));
        if (parts.some((p) => p === undefined)) return undefined;
        return convert(plan.field, plan.type, parts.map((p) => cellText(p!)).join(plan.separator));
      }
      case 'studyDay': {
        let day: number;
        if ('const' in plan.day) day = plan.day.const;
        else {
          const cell = this.#cell(row, plan.day.column);
          if (cell === undefined) return undefined;
          const n = parseNumber(cell);
          if (n === undefined) {
            throw new Unmappable(
              'invalid_study_day',
              plan.field,
              `${plan.field}: study day '${String(cell)}' of column ${plan.day.column} is not a number`,
            );
          }
          day = n;
        }
        let reference: string;
        if ('const' in plan.reference) reference = plan.reference.const;
        else {
          const cell = this.#cell(row, plan.reference.column);
          if (cell === undefined) return undefined;
          const iso = typeof cell === 'string' ? parseTimestamp(cell) : undefined;
          if (iso === undefined) {
            throw new Unmappable(
              'invalid_timestamp',
              plan.field,
              `${plan.field}: reference '${String(cell)}' of column ${plan.reference.column} is not an ISO 8601 date or date-time`,
            );
          }
          reference = iso;
        }
        return studyDayTimestamp(plan.field, reference, day, plan.numbering);
      }
    }
  }

  #decode(
    field: string,
    type: MappingPlan['types'][string],
    column: string,
    cell: Exclude<CellValue, null>,
    values: Readonly<Record<string, FieldValue>>,
    keep: boolean,
  ): FieldValue {
    const code = cellText(cell);
    if (Object.hasOwn(values, code)) return values[code]!;
    if (keep) return convert(field, type, cell);
    throw new Unmappable(
      'unknown_code',
      field,
      `${field}: code '${code}' of column ${column} is not in the mapping's values`,
    );
  }

  map(row: Row): MapOutcome[] {
    const plan = this.#plan;
    try {
      if (plan.when) {
        const cell = this.#cell(row, plan.when.column);
        const text = cell === undefined ? undefined : cellText(cell);
        if (text !== undefined && plan.when.isNot.has(text)) return [];
        if (text === undefined || !plan.when.is.has(text)) {
          throw new Unmappable(
            'unknown_condition',
            null,
            text === undefined
              ? `when: column ${plan.when.column} is missing`
              : `when: '${text}' of column ${plan.when.column} is in neither is (${[...plan.when.is].join(', ')}) nor isNot (${[...plan.when.isNot].join(', ')})`,
          );
        }
      }
      const base: MappedRecord = {};
      for (const field of plan.fields) {
        const value = this.#resolve(field, row);
        if (value !== undefined) base[field.field] = value;
      }
      if (!plan.unpivot) return [{ ok: true, record: this.#finish(base, undefined) }];
      const out: MapOutcome[] = [];
      for (const column of plan.unpivot.columns) {
        const outcome = this.#unpivot(base, column, row);
        if (outcome) out.push(outcome);
      }
      return out;
    } catch (error) {
      if (error instanceof Unmappable) return [unmapped(error)];
      throw error;
    }
  }

  #unpivot(base: MappedRecord, column: ColumnPlan, row: Row): MapOutcome | undefined {
    const { nameField, valueField } = this.#plan.unpivot!;
    const cell = this.#cell(row, column.column);
    if (cell === undefined) return undefined;
    try {
      const type = this.#plan.types[valueField]!;
      const value = column.values
        ? this.#decode(valueField, type, column.column, cell, column.values, column.keep)
        : convert(valueField, type, cell);
      const record = { ...base, ...column.set, [nameField]: column.name, [valueField]: value };
      return { ok: true, record: this.#finish(record, column.column), column: column.column };
    } catch (error) {
      if (error instanceof Unmappable) return { ...unmapped(error), column: column.column };
      throw error;
    }
  }

  #finish(record: MappedRecord, column: string | undefined): MappedRecord {
    const plan = this.#plan;
    for (const [field, from] of plan.copies) {
      if (record[from] !== undefined) record[field] = record[from];
    }
    if (column !== undefined) {
      for (const field of plan.mappedIds) {
        if (record[field] !== undefined) record[field] = `${String(record[field])}-${column}`;
      }
    }
    if (plan.hashed.length > 0) {
      const digest = createHash('sha256')
        .update(`${this.#topic}\u0000${JSON.stringify(ordered(record, plan.order))}`)
        .digest('hex');
      for (const field of plan.hashed) record[field] = `fi-${digest.slice(0, 24)}`;
    }
    return ordered(record, plan.order);
  }
}

function unmapped(error: Unmappable): MapOutcome {
  return { ok: false, reason: error.reason, field: error.field, message: error.message };
}

/** Fields in the schema's order. */
function ordered(record: MappedRecord, order: readonly string[]): MappedRecord {
  const out: MappedRecord = {};
  for (const field of order) {
    const value = record[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}
