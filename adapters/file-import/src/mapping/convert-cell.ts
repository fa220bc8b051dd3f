import type { FieldType } from '@vigil/core';

/** A cell as read from an extract (CSV cells are text; Parquet and NDJSON keep their types). */
export type CellValue = string | number | boolean | null;
export type Row = Readonly<Record<string, CellValue>>;
/** A value of a mapped record field. */
export type FieldValue = string | number | boolean;

/** Why a row (or one measured column of a wide row) could not be mapped; it is then delivered raw with this reason. */
export const UNMAPPED_REASONS = {
  invalid_json: 'An NDJSON line is not valid JSON.',
  not_an_object: 'An NDJSON line is valid JSON but not an object.',
  unknown_code: 'A coded column holds a value missing from the mapping’s `values`.',
  unknown_condition: 'The `when` column holds a value listed in neither `is` nor `isNot`, or is missing.',
  invalid_number: 'A numeric field’s cell is not a number.',
  invalid_boolean: 'A boolean field’s cell is not true/false, Y/N, yes/no or 1/0.',
  invalid_timestamp: 'A timestamp cell is not an ISO 8601 date or date-time (partial dates are not).',
  invalid_study_day: 'A study day is not a number, or is 0 with `numbering: cdisc` (which has no day 0).',
} as const;
export type UnmappedReason = keyof typeof UNMAPPED_REASONS;

/** A cell that cannot become its field's value: the row is delivered unmapped with this reason. */
export class Unmappable extends Error {
  constructor(
    readonly reason: UnmappedReason,
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const TRUE = new Set(['true', 't', 'y', 'yes', '1']);
const FALSE = new Set(['false', 'f', 'n', 'no', '0']);

/** ISO 8601 date or date-time → `YYYY-MM-DDTHH:mm:ss.sssZ`; no offset means UTC, a date alone 00:00 UTC. */
export function parseTimestamp(text: string): string | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  let offset = zone.toUpperCase() === 'Z' ? 'Z' : zone;
  if (offset !== 'Z') {
    const digits = offset.replace(':', '');
    offset = `${digits.slice(0, 3)}:${digits.length > 3 ? digits.slice(3) : '00'}`;
  }
  const ms = frac === '' ? '' : `.${frac.slice(1, 4).padEnd(3, '0')}`;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${offset}`);
  if (!Number.isFinite(date.getTime())) return undefined;
  // Reject rollovers such as 2026-02-30 (Date would quietly move them to March).
  if (offset === 'Z' && date.toISOString().slice(0, 10) !== `${y}-${mo}-${d}`) return undefined;
  return date.toISOString();
}

/** A number from a numeric cell or numeric text; undefined otherwise. */
export function parseNumber(value: CellValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value.trim());
  return undefined;
}

/** The cell as trimmed text (how code lists, `when` and missing codes compare it). */
export function cellText(value: CellValue): string {
  return value === null ? '' : typeof value === 'string' ? value.trim() : String(value);
}

/** A value converted to a field's JSON type, or an Unmappable naming the field. */
export function convert(field: string, type: FieldType, value: CellValue): FieldValue {
  switch (type) {
    case 'string':
      return cellText(value);
    case 'number': {
      const n = parseNumber(value);
      if (n !== undefined) return n;
      throw new Unmappable('invalid_number', field, `${field}: '${String(value)}' is not a number`);
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const text = cellText(value).toLowerCase();
      if (TRUE.has(text)) return true;
      if (FALSE.has(text)) return false;
      throw new Unmappable('invalid_boolean', field, `${field}: '${String(value)}' is not a boolean`);
    }
    case 'timestamp': {
      const iso = typeof value === 'string' ? parseTimestamp(value) : undefined;
      if (iso === undefined) {
        throw new Unmappable(
          'invalid_timestamp',
          field,
          `${field}: '${String(value)}' is not an ISO 8601 date or date-time`,
        );
      }
      return iso;
    }
  }
}

const DAY_MS = 86_400_000;

/**
 * The timestamp `day` days from `reference` (ISO UTC). `elapsed`: day 0 is the reference;
 * `cdisc` (SDTM --DY): day 1 is the reference, day -1 the day before, no day 0.
 */
export function studyDayTimestamp(
  field: string,
  reference: string,
  day: number,
  numbering: 'elapsed' | 'cdisc',
): string {
  if (numbering === 'cdisc' && day === 0) {
    throw new Unmappable(
      'invalid_study_day',
      field,
      `${field}: study day 0 does not exist with numbering cdisc`,
    );
  }
  const offset = numbering === 'cdisc' && day > 0 ? day - 1 : day;
  const at = new Date(Date.parse(reference) + Math.round(offset * DAY_MS));
  if (!Number.isFinite(at.getTime())) {
    throw new Unmappable(
      'invalid_study_day',
      field,
      `${field}: day ${day} from ${reference} is out of range`,
    );
  }
  return at.toISOString();
}
