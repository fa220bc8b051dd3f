import { z } from 'zod';

/**
 * The file-import config is generic: mapping keys are the fields of the configured job's
 * record schema (`ctx.schema`), which zod does not know. The adapter checks the mapping
 * against that schema when it is created (unknown fields, required and kind-required
 * fields, enum constants, types) and reports every problem at once with its path; see
 * `mapping/compile-mapping.ts` and docs/adapters/file-import.md.
 */

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const codeList = z
  .record(z.string(), scalar)
  .describe('Code list: the cell (as trimmed text) → the record value.');

const otherwise = z
  .enum(['unmapped', 'keep'])
  .default('unmapped')
  .describe(
    "A code missing from `values`: 'unmapped' delivers the row unmapped (so it is quarantined), 'keep' passes the code through.",
  );

/** `{ column: random }` or `{ const: '1990-01-01' }`: the date a study day counts from. */
export const referenceSpec = z.union([
  z.strictObject({
    column: z
      .string()
      .min(1)
      .describe('A column of the same row holding the reference date (e.g. randomisation).'),
  }),
  z.strictObject({
    const: z.string().min(1).describe('One reference date (ISO 8601) for every row.'),
  }),
]);
export type ReferenceSpec = z.output<typeof referenceSpec>;

/**
 * A timestamp given as a day number relative to a reference date:
 * `{ studyDay: tstop, reference: { column: random } }`.
 */
export const studyDaySpec = z.strictObject({
  studyDay: z
    .union([
      z
        .string()
        .min(1)
        .describe('The column holding the day number (fractions allowed with `numbering: elapsed`).'),
      z.strictObject({ const: z.number().describe('The day number every row gets.') }),
    ])
    .describe('Where the day number comes from: a column, or `{ const: n }`.'),
  reference: referenceSpec.describe(
    'The date day numbers count from: `{ column: … }` or `{ const: YYYY-MM-DD }`.',
  ),
  numbering: z
    .enum(['elapsed', 'cdisc'])
    .default('elapsed')
    .describe(
      "'elapsed': days since the reference (day 0 is the reference date; survival data such as tstart/tstop); 'cdisc': SDTM --DY, day 1 is the reference date and there is no day 0 (day -1 is the day before).",
    ),
});
export type StudyDaySpec = z.output<typeof studyDaySpec>;

/**
 * How one record field is filled from a row:
 * - `SUBJID` — the value of a column (for a field with a fixed set of values in the job's
 *   schema, a bare value of that set is a constant instead: `kind: vital`, `origin: ehr`);
 * - `{ const: 'ehr' }` — the same value on every row;
 * - `{ column: VSTESTCD, values: { HR: heart_rate } }` — a coded column, translated;
 * - `{ columns: [USUBJID, VSSEQ], separator: '-' }` — several columns joined (ids);
 * - `{ studyDay: tstop, reference: { column: random } }` — a timestamp from a day number.
 */
export const fieldSpec = z.union([
  z
    .string()
    .min(1)
    .describe('A column name (or, for a field with a fixed set of values, a constant from that set).'),
  z.strictObject({ const: scalar.describe('The value every row gets.') }),
  z.strictObject({
    column: z.string().min(1).describe('The column holding the value.'),
    values: codeList.optional(),
    otherwise,
  }),
  z.strictObject({
    columns: z.array(z.string().min(1)).min(1).describe('Columns joined, in order, into one text value.'),
    separator: z.string().default('-').describe('Text put between the joined columns.'),
  }),
  studyDaySpec,
]);
export type FieldSpec = z.output<typeof fieldSpec>;
/** A field spec as written (defaults not yet applied). */
export type FieldSpecInput = z.input<typeof fieldSpec>;

export const mappingSchema = z
  .record(z.string().min(1), fieldSpec)
  .describe(
    "The job's record fields → the columns of the extract; fields are checked against the job's record schema when the source is created (see docs/adapters/file-import.md).",
  );
export type Mapping = z.output<typeof mappingSchema>;
/** A mapping as written (defaults not yet applied). */
export type MappingInput = z.input<typeof mappingSchema>;

/** One measured column of a wide row: a bare column name, or the column with its options. */
export const unpivotColumn = z.union([
  z.string().min(1).describe('A measured column; its name goes into `into.name` as is.'),
  z.strictObject({
    column: z.string().min(1).describe('The measured column.'),
    as: scalar
      .optional()
      .describe('What goes into `into.name` instead of the column name (e.g. hos.cat → hospital_category).'),
    values: codeList
      .optional()
      .describe(
        'Code list for the cell: text → value (categorical covariates coded to numbers: { male: 0, female: 1 }).',
      ),
    otherwise: z
      .enum(['unmapped', 'keep'])
      .optional()
      .describe("A code missing from `values`: 'unmapped' or 'keep' (default: the unpivot's `otherwise`)."),
    set: z
      .record(z.string().min(1), scalar)
      .optional()
      .describe(
        'Constant fields of this column’s records (e.g. { unit: cm }, { kind: vital }); they override the mapping.',
      ),
  }),
]);
export type UnpivotColumn = z.output<typeof unpivotColumn>;

export const unpivotSpec = z
  .strictObject({
    columns: z
      .array(unpivotColumn)
      .min(1)
      .describe(
        'The measured columns, in the order their records are delivered; each non-missing cell is one record.',
      ),
    values: codeList
      .optional()
      .describe(
        'Code list for the cells of every column without its own `values` (e.g. a table of yes/no flags).',
      ),
    otherwise,
    into: z
      .strictObject({
        name: z
          .string()
          .min(1)
          .describe('The record field that gets the column’s name (or its `as`), e.g. measure.'),
        value: z.string().min(1).describe('The record field that gets the cell, e.g. value.'),
      })
      .describe('Where the column name and the cell go.'),
  })
  .describe(
    'Wide rows (one visit, many measures): one record per measured column whose cell is not missing; the mapping fills the fields the columns share.',
  );
export type UnpivotSpec = z.output<typeof unpivotSpec>;

export const whenSpec = z
  .strictObject({
    column: z.string().min(1).describe('The column deciding whether a row is a record (e.g. status).'),
    is: z
      .array(scalar)
      .min(1)
      .describe('Cell values (as text) that make the row a record (e.g. [1]: the event happened).'),
    isNot: z
      .array(scalar)
      .default([])
      .describe(
        'Cell values that make no record (e.g. [0]: censored — in a status/time table the time is then the last follow-up).',
      ),
  })
  .describe(
    'Rows that become records (outcome tables: status + time). A cell in neither list, or missing, makes the row unmapped (unknown_condition).',
  );
export type WhenSpec = z.output<typeof whenSpec>;

const missingCodes = z
  .array(z.string())
  .describe("Cell texts that mean 'no value' (e.g. ['NA', '.']); null and blank cells are always missing.");

export const FILE_FORMATS = ['csv', 'ndjson', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const importFile = z.strictObject({
  path: z.string().min(1).describe('The extract; relative paths resolve against `baseDir`.'),
  format: z
    .enum(FILE_FORMATS)
    .optional()
    .describe('csv, ndjson or parquet; by default from the extension (.csv/.tsv, .ndjson/.jsonl, .parquet).'),
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
  unpivot: unpivotSpec.optional(),
  when: whenSpec.optional(),
  missing: missingCodes
    .optional()
    .describe('Missing codes for every column of this file; replaces the top-level `missing`.'),
  missingByColumn: z
    .record(z.string().min(1), missingCodes)
    .optional()
    .describe(
      'Missing codes of single columns; replace the file’s codes for that column (e.g. { asa: [NA_NA] }).',
    ),
});
export type ImportFile = z.output<typeof importFile>;
/** A file entry as written (defaults not yet applied). */
export type ImportFileInput = z.input<typeof importFile>;

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
  key: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The record field whose value becomes each record's key (e.g. siteId, as the job's producers key events by site). Default: no key (null).",
    ),
  missing: missingCodes
    .default([])
    .describe("Missing codes for every file (e.g. ['NA', '.']); null and blank cells are always missing."),
});
export type FileImportConfig = z.output<typeof fileImportConfig>;
