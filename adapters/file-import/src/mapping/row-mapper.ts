import { createHash } from 'node:crypto';
import { type FieldSpecInput as FieldSpec, isEnumConstant, type MappingInput } from '../config.js';
import { EVENT_FIELD_NAMES, EVENT_FIELDS, type EventField, type FieldType } from './event-fields.js';

/** A cell as read from an extract (CSV cells are text; Parquet and NDJSON keep their types). */
export type CellValue = string | number | boolean | null;
export type Row = Readonly<Record<string, CellValue>>;

/** Why a row could not be mapped; it is then delivered raw with this reason. */
export const UNMAPPED_REASONS = {
  invalid_json: 'An NDJSON line is not valid JSON.',
  not_an_object: 'An NDJSON line is valid JSON but not an object.',
  unknown_code: 'A coded column holds a value missing from the mapping’s `values`.',
  invalid_number: 'A numeric field’s cell is not a number.',
  invalid_boolean: 'A boolean field’s cell is not true/false, Y/N, yes/no or 1/0.',
  invalid_timestamp: 'A timestamp cell is not an ISO 8601 date or date-time (partial dates are not).',
} as const;
export type UnmappedReason = keyof typeof UNMAPPED_REASONS;

export type MapOutcome =
  | { ok: true; event: Record<string, string | number | boolean> }
  | { ok: false; reason: UnmappedReason; field: EventField | null; message: string };

class Unmappable extends Error {
  constructor(
    readonly reason: UnmappedReason,
    readonly field: EventField,
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

function isMissing(value: CellValue | undefined): value is null | undefined {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

function convert(field: EventField, type: FieldType, value: CellValue): string | number | boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value.trim() : String(value);
    case 'number': {
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value.trim());
      throw new Unmappable('invalid_number', field, `${field}: '${String(value)}' is not a number`);
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const text = String(value).trim().toLowerCase();
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

/** The columns a spec reads. */
export function specColumns(field: EventField, spec: FieldSpec): string[] {
  if (typeof spec === 'string') return isEnumConstant(field, spec) ? [] : [spec];
  if ('const' in spec) return [];
  if ('columns' in spec) return spec.columns;
  return [spec.column];
}

/**
 * Maps the rows of one extract to ClinicalEvent JSON by a column mapping. Missing cells
 * leave their field out (silver then names it: `missing_field`, `missing_unit`); cells that
 * cannot be converted make the row unmapped. Without an `eventId` mapping the id is a hash
 * of the topic and the mapped event, so re-importing a file gives the same ids; without a
 * `recordedAt` mapping it equals `observedAt`.
 */
export class RowMapper {
  readonly #topic: string;
  readonly #specs: [EventField, FieldSpec][];

  constructor(mapping: MappingInput, topic: string) {
    this.#topic = topic;
    this.#specs = EVENT_FIELD_NAMES.flatMap((field) => {
      const spec = mapping[field];
      return spec === undefined ? [] : [[field, spec] as [EventField, FieldSpec]];
    });
  }

  /** Every column the mapping reads, with the field that reads it. */
  columns(): { field: EventField; column: string }[] {
    return this.#specs.flatMap(([field, spec]) =>
      specColumns(field, spec).map((column) => ({ field, column })),
    );
  }

  #resolve(field: EventField, spec: FieldSpec, row: Row): CellValue | undefined {
    if (typeof spec === 'string') return isEnumConstant(field, spec) ? spec : row[spec];
    if ('const' in spec) return spec.const;
    if ('columns' in spec) {
      const parts = spec.columns.map((c) => row[c]);
      if (parts.some(isMissing)) return undefined;
      return parts.map((p) => (typeof p === 'string' ? p.trim() : String(p))).join(spec.separator ?? '-');
    }
    const cell = row[spec.column];
    if (isMissing(cell) || spec.values === undefined) return cell;
    const code = typeof cell === 'string' ? cell.trim() : String(cell);
    if (Object.hasOwn(spec.values, code)) return spec.values[code] ?? null;
    if ((spec.otherwise ?? 'unmapped') === 'keep') return cell;
    throw new Unmappable(
      'unknown_code',
      field,
      `${field}: code '${code}' of column ${spec.column} is not in the mapping's values`,
    );
  }

  map(row: Row): MapOutcome {
    const event: Record<string, string | number | boolean> = {};
    try {
      for (const [field, spec] of this.#specs) {
        const value = this.#resolve(field, spec, row);
        if (isMissing(value)) continue;
        event[field] = convert(field, EVENT_FIELDS[field], value);
      }
    } catch (error) {
      if (error instanceof Unmappable) {
        return { ok: false, reason: error.reason, field: error.field, message: error.message };
      }
      throw error;
    }
    if (!this.#specs.some(([f]) => f === 'recordedAt') && event.observedAt !== undefined) {
      event.recordedAt = event.observedAt;
    }
    if (event.eventId === undefined) {
      const digest = createHash('sha256')
        .update(`${this.#topic}\u0000${JSON.stringify(ordered(event))}`)
        .digest('hex');
      event.eventId = `fi-${digest.slice(0, 24)}`;
    }
    return { ok: true, event: ordered(event) };
  }
}

/** Fields in the canonical order (base fields first, then each kind's). */
function ordered(
  event: Record<string, string | number | boolean>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const field of EVENT_FIELD_NAMES) {
    const value = event[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}
