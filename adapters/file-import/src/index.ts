/**
 * @vigil/adapter-file-import — a read-only Source over a team's own extracts (CSV, NDJSON,
 * Parquet): one partition per file, offsets are row numbers, each row mapped to a clinical
 * event by a column mapping (rows that cannot be mapped are delivered raw with a reason).
 */
import { isAbsolute, resolve } from 'node:path';
import { defineAdapter } from '@vigil/core';
import { fileImportConfig } from './config.js';
import { FileImportSource, fileImportCapabilities } from './file-import-source.js';

export type {
  FieldSpec,
  FieldSpecInput,
  FileFormat,
  FileImportConfig,
  ImportFile,
  Mapping,
  MappingInput,
} from './config.js';
export { FILE_FORMATS, fileImportConfig } from './config.js';
export { FileImportConsumer } from './consumer/file-import-consumer.js';
export type { FileImportSourceOptions, ImportedFile } from './file-import-source.js';
export { FileImportSource, fileImportCapabilities } from './file-import-source.js';
export { EVENT_FIELD_NAMES, type EventField } from './mapping/event-fields.js';
export type { CellValue, MapOutcome, Row, UnmappedReason } from './mapping/row-mapper.js';
export { parseTimestamp, RowMapper, UNMAPPED_REASONS } from './mapping/row-mapper.js';

export const fileImportSource = defineAdapter({
  port: 'source',
  name: 'file-import',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    "Read-only Source over a team's own extracts (CSV, NDJSON, Parquet): one partition per file, offsets are row numbers, rows mapped to clinical events by a column mapping; unmappable rows are delivered raw with an `_unmapped` reason.",
  config: fileImportConfig,
  capabilities: fileImportCapabilities,
  async create(config, ctx) {
    const baseDir = resolve(config.baseDir ?? process.cwd());
    return FileImportSource.open({
      files: config.files,
      baseDir,
      stateDir: isAbsolute(config.stateDir) ? config.stateDir : resolve(ctx.workdir, config.stateDir),
      logger: ctx.logger.child({ component: 'file-import' }),
    });
  },
});
