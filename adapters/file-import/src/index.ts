/**
 * @vigil/adapter-file-import — a read-only Source over a team's own extracts (CSV, NDJSON,
 * Parquet): one partition per file, offsets are record numbers, each row mapped to records
 * of the configured job's schema by a column mapping (rows that cannot be mapped are
 * delivered raw with a reason).
 */
import { isAbsolute, resolve } from 'node:path';
import { defineAdapter, VigilError } from '@vigil/core';
import { fileImportConfig } from './config.js';
import { FileImportSource, fileImportCapabilities } from './file-import-source.js';

export type {
  FieldSpec,
  FieldSpecInput,
  FileFormat,
  FileImportConfig,
  ImportFile,
  ImportFileInput,
  Mapping,
  MappingInput,
  ReferenceSpec,
  StudyDaySpec,
  UnpivotColumn,
  UnpivotSpec,
  WhenSpec,
} from './config.js';
export { FILE_FORMATS, fileImportConfig } from './config.js';
export { FileImportConsumer } from './consumer/file-import-consumer.js';
export type { FileImportSourceOptions, ImportedFile } from './file-import-source.js';
export { FileImportSource, fileImportCapabilities } from './file-import-source.js';
export { compileMapping, type MappingIssue, type MappingPlan } from './mapping/compile-mapping.js';
export type { CellValue, FieldValue, Row, UnmappedReason } from './mapping/convert-cell.js';
export { parseTimestamp, UNMAPPED_REASONS } from './mapping/convert-cell.js';
export type { MapOutcome, MappedRecord } from './mapping/row-mapper.js';
export { RowMapper } from './mapping/row-mapper.js';

export const fileImportSource = defineAdapter({
  port: 'source',
  name: 'file-import',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    "Read-only Source over a team's own extracts (CSV, NDJSON, Parquet): one partition per file, rows mapped to records of the job's schema by a column mapping (wide rows unpivoted, study days, outcome tables, missing codes); unmappable rows are delivered raw with an `_unmapped` reason.",
  config: fileImportConfig,
  capabilities: fileImportCapabilities,
  async create(config, ctx) {
    if (!ctx.schema) {
      throw new VigilError(
        'VIGIL_REGISTRY_MISSING_DEPENDENCY',
        "the file-import source needs a job's record schema to check its mappings against (the kernel passes the configured job's schema as ctx.schema); configure a job, or create the source with a context that has a schema",
      );
    }
    const baseDir = resolve(config.baseDir ?? process.cwd());
    return FileImportSource.open({
      files: config.files,
      baseDir,
      stateDir: isAbsolute(config.stateDir) ? config.stateDir : resolve(ctx.workdir, config.stateDir),
      schema: ctx.schema,
      ...(config.key !== undefined ? { key: config.key } : {}),
      missing: config.missing,
      logger: ctx.logger.child({ component: 'file-import' }),
    });
  },
});
