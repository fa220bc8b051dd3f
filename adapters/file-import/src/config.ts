import { z } from 'zod';
import {
  ENUM_CONSTANTS,
  EVENT_FIELD_NAMES,
  type EventField,
  KIND_REQUIRED,
  REQUIRED_BASE,
} from './mapping/event-fields.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/**
 * How one event field is filled from a row:
 * - `SUBJID` — the value of a column (for `kind` and `origin`, a bare value of their fixed
 *   set is a constant instead: `kind: vital`, `origin: ehr`);
 * - `{ const: 'ehr' }` — the same value on every row;
 * - `{ column: VSTESTCD, values: { HR: heart_rate } }` — a coded column, translated;
 * - `{ columns: [USUBJID, VSSEQ], separator: '-' }` — several columns joined (ids).
 */
export const fieldSpec = z.union([
  z.string().min(1).describe('A column name (or, for kind and origin, a constant from their set).'),
  z.strictObject({ const: scalar.describe('The value every row gets.') }),
  z.strictObject({
    column: z.string().min(1).describe('The column holding the value.'),
    values: z
      .record(z.string(), scalar)
      .optional()
      .describe('Code list: the column value (as text) → the event value.'),
    otherwise: z
      .enum(['unmapped', 'keep'])
      .default('unmapped')
      .describe(
        "A code missing from `values`: 'unmapped' delivers the row unmapped (so it is quarantined), 'keep' passes the code through.",
      ),
  }),
  z.strictObject({
    columns: z.array(z.string().min(1)).min(1).describe('Columns joined, in order, into one text value.'),
    separator: z.string().default('-').describe('Text put between the joined columns.'),
  }),
]);
export type FieldSpec = z.output<typeof fieldSpec>;
/** A field spec as written (defaults not yet applied). */
export type FieldSpecInput = z.input<typeof fieldSpec>;

const mappingShape = Object.fromEntries(
  EVENT_FIELD_NAMES.map((field) => [field, fieldSpec.optional().describe(`Where \`${field}\` comes from.`)]),
) as Record<EventField, z.ZodOptional<typeof fieldSpec>>;

export const mappingSchema = z
  .strictObject(mappingShape)
  .describe('Our event fields → the columns of the extract (see docs/adapters/file-import.md).');
export type Mapping = z.output<typeof mappingSchema>;
/** A mapping as written (defaults not yet applied). */
export type MappingInput = z.input<typeof mappingSchema>;

export const FILE_FORMATS = ['csv', 'ndjson', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const importFile = z
  .strictObject({
    path: z.string().min(1).describe('The extract; relative paths resolve against `baseDir`.'),
    format: z
      .enum(FILE_FORMATS)
      .optional()
      .describe(
        'csv, ndjson or parquet; by default from the extension (.csv/.tsv, .ndjson/.jsonl, .parquet).',
      ),
    delimiter: z
      .string()
      .length(1)
      .optional()
      .describe('CSV field delimiter; detected when omitted (a tab for .tsv).'),
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/)
      .describe('Topic the rows are read from; files of one topic are its partitions, in the order listed.'),
    mapping: mappingSchema,
  })
  .superRefine((file, ctx) => {
    const need = (field: EventField, why: string) => {
      if (file.mapping[field] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['mapping', field], message: `is required ${why}` });
      }
    };
    for (const field of REQUIRED_BASE) need(field, 'for every event');
    const kind = file.mapping.kind;
    const constant =
      kind === undefined || typeof kind === 'string'
        ? kind !== undefined && isEnumConstant('kind', kind)
          ? kind
          : undefined
        : 'const' in kind
          ? kind.const
          : undefined;
    if (constant !== undefined) {
      const fields = KIND_REQUIRED[String(constant) as keyof typeof KIND_REQUIRED];
      if (!fields) {
        ctx.addIssue({
          code: 'custom',
          path: ['mapping', 'kind'],
          message: `'${constant}' is not an event kind (${Object.keys(KIND_REQUIRED).join(', ')})`,
        });
      } else {
        for (const field of fields) need(field, `for kind '${constant}'`);
      }
    }
  });
export type ImportFile = z.output<typeof importFile>;

export const fileImportConfig = z.strictObject({
  files: z.array(importFile).min(1).describe('The extracts to read, one partition each.'),
  baseDir: z
    .string()
    .min(1)
    .optional()
    .describe('Directory relative file paths resolve against. Default: the current directory.'),
  stateDir: z
    .string()
    .min(1)
    .default('file-import')
    .describe('Where committed group offsets are kept; relative paths resolve against the run workdir.'),
});
export type FileImportConfig = z.output<typeof fileImportConfig>;

/** `kind: vital`-style constants: a bare string that is one of the field's fixed values. */
export function isEnumConstant(field: EventField, spec: FieldSpecInput): spec is string {
  return typeof spec === 'string' && (ENUM_CONSTANTS[field]?.includes(spec) ?? false);
}
