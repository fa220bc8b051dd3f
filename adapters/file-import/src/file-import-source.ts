import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  type Consumer,
  type ConsumerOptions,
  type Logger,
  type ProduceRecord,
  type RecordSchema,
  type Source,
  type SourceCapabilities,
  type TopicInfo,
  type TopicPartitionOffset,
  VigilError,
} from '@vigil/core';
import type { ImportFile } from './config.js';
import { type ConsumerHost, FileImportConsumer, type StoredRecord } from './consumer/file-import-consumer.js';
import { CommittedOffsets } from './groups/committed-offsets.js';
import { compileMapping } from './mapping/compile-mapping.js';
import { type MapOutcome, RowMapper } from './mapping/row-mapper.js';
import { type ExtractRow, formatOf, readExtract } from './readers/read-extract.js';

/**
 * Read-only: topics are the configured files (no produce, no new topics); one partition
 * per file, so no key partitioning; groups share partitions in-process and persist their
 * commits; consumers can seek back over the files.
 */
export const fileImportCapabilities: SourceCapabilities = Object.freeze({
  partitions: false,
  consumerGroups: true,
  replay: true,
  idempotentProduce: false,
  produce: false,
});

export interface FileImportSourceOptions {
  files: readonly ImportFile[];
  /** Absolute directory relative file paths resolve against. */
  baseDir: string;
  /** Absolute directory for committed offsets. */
  stateDir: string;
  /** The job's record schema: the fields mappings fill (from `ctx.schema`). */
  schema: RecordSchema;
  /** The record field whose value is each record's key (none: null keys). */
  key?: string;
  /** Missing codes of every file that sets none (the top-level `missing`). */
  missing?: readonly string[];
  logger: Logger;
}

interface Partition {
  file: string;
  records: StoredRecord[];
}

/** Counts of what was read, per file (no row content). `rows` data rows gave `records` records. */
export interface ImportedFile {
  path: string;
  topic: string;
  partition: number;
  rows: number;
  /** Records delivered (offsets run over these): one per row, or per measured cell with unpivot. */
  records: number;
  /** Records that are raw rows with an `_unmapped` reason. */
  unmapped: number;
  /** Rows that gave no record: `when` said no (isNot), or every measured cell of a wide row was missing. */
  empty: number;
}

const encoder = new TextEncoder();

function configError(issues: { path: string; message: string; file?: string }[]): VigilError {
  const lines = issues
    .map((i) => `  - ${i.path}${i.file !== undefined ? ` (${i.file})` : ''}: ${i.message}`)
    .join('\n');
  return new VigilError(
    'VIGIL_CONFIG_INVALID',
    `file-import config has ${issues.length} problem(s):\n${lines}`,
    {
      details: { issues },
    },
  );
}

/**
 * A Source over a team's own extracts: each configured file (CSV, NDJSON, Parquet) is one
 * partition of its topic, offsets are row numbers (0-based data rows), and each record's
 * value is the row mapped to a record of the job's schema (JSON) — or, when the row cannot
 * be mapped, the raw row with an `_unmapped` reason, so the medallion quarantines it and
 * nothing is lost. With `unpivot` a row gives one record per measured cell, with `when`
 * possibly none; offsets count records.
 * Files are read whole when the source opens.
 */
export class FileImportSource implements Source, ConsumerHost {
  readonly capabilities = fileImportCapabilities;
  readonly files: readonly ImportedFile[];
  readonly #topics: Map<string, Partition[]>;
  readonly #offsets: CommittedOffsets;
  readonly #members = new Map<string, FileImportConsumer[]>();
  #closed = false;

  private constructor(topics: Map<string, Partition[]>, files: ImportedFile[], stateDir: string) {
    this.#topics = topics;
    this.files = files;
    this.#offsets = new CommittedOffsets(stateDir);
  }

  static async open(options: FileImportSourceOptions): Promise<FileImportSource> {
    const issues: { path: string; message: string; file?: string }[] = [];
    const topics = new Map<string, Partition[]>();
    const files: ImportedFile[] = [];
    let instance: DuckDBInstance | undefined;
    let connection: DuckDBConnection | undefined;
    const connect = async (): Promise<DuckDBConnection> => {
      if (!connection) {
        const { DuckDBInstance } = await import('@duckdb/node-api');
        instance = await DuckDBInstance.create(':memory:', { threads: '1' });
        connection = await instance.connect();
        await connection.run(`SET TimeZone = 'UTC'`);
      }
      return connection;
    };
    const { schema, key } = options;
    if (key !== undefined && !Object.hasOwn(schema.fields, key)) {
      issues.push({
        path: 'key',
        message: `'${key}' is not a field of the job's records (fields: ${Object.keys(schema.fields).join(', ')})`,
      });
    }
    try {
      for (const [i, file] of options.files.entries()) {
        const at = `files[${i}]`;
        const path = resolve(options.baseDir, file.path);
        const compiled = compileMapping(file, schema, options.missing ?? []);
        for (const issue of compiled.issues) {
          issues.push({ path: `${at}.${issue.path}`, message: issue.message, file: file.path });
        }
        let mtimeMs: number;
        try {
          const info = await stat(path);
          if (!info.isFile()) throw new Error('not a file');
          mtimeMs = Math.trunc(info.mtimeMs);
        } catch {
          issues.push({
            path: `${at}.path`,
            message: `'${file.path}' is not a readable file (resolved to ${path})`,
          });
          continue;
        }
        let format: ReturnType<typeof formatOf>;
        try {
          format = formatOf(path, file.format, at);
        } catch (error) {
          issues.push({ path: `${at}.format`, message: (error as Error).message });
          continue;
        }
        let extract: Awaited<ReturnType<typeof readExtract>>;
        try {
          extract = await readExtract(connect, path, format, file.delimiter);
        } catch (error) {
          issues.push({
            path: `${at}.path`,
            message: `cannot read '${file.path}' as ${format}: ${(error as Error).message}`,
          });
          continue;
        }
        if (extract.rows.length > 0) {
          const known = new Set(extract.columns);
          for (const { at: where, column, hint } of compiled.plan.columns) {
            if (!known.has(column)) {
              issues.push({
                path: `${at}.${where}`,
                message: `column '${column}' is not in '${file.path}'${hint ? ` (${hint})` : ''} (columns: ${extract.columns.join(', ')})`,
                file: file.path,
              });
            }
          }
        }
        if (compiled.issues.length > 0) continue;
        const mapper = new RowMapper(compiled.plan, file.topic);
        const partitions = topics.get(file.topic) ?? [];
        const name = basename(path);
        let unmapped = 0;
        let empty = 0;
        const records: StoredRecord[] = [];
        for (const [n, row] of extract.rows.entries()) {
          const out = toRecords(row, n, name, mapper, mtimeMs, key);
          if (out.length === 0) empty++;
          for (const record of out) {
            if (record.headers['vigil-unmapped'] !== undefined) unmapped++;
            records.push(record);
          }
        }
        files.push({
          path: file.path,
          topic: file.topic,
          partition: partitions.length,
          rows: extract.rows.length,
          records: records.length,
          unmapped,
          empty,
        });
        partitions.push({ file: name, records });
        topics.set(file.topic, partitions);
      }
    } finally {
      connection?.closeSync();
      instance?.closeSync();
    }
    if (issues.length > 0) throw configError(issues);
    options.logger.info(
      {
        files: files.length,
        topics: [...topics.keys()],
        rows: files.reduce((n, f) => n + f.rows, 0),
        records: files.reduce((n, f) => n + f.records, 0),
        unmapped: files.reduce((n, f) => n + f.unmapped, 0),
        empty: files.reduce((n, f) => n + f.empty, 0),
      },
      'file-import: extracts read',
    );
    return new FileImportSource(topics, files, options.stateDir);
  }

  #partitions(topic: string): Partition[] {
    const partitions = this.#topics.get(topic);
    if (!partitions) {
      throw new VigilError(
        'VIGIL_SOURCE_UNKNOWN_TOPIC',
        `topic ${topic} does not exist (file-import topics: ${[...this.#topics.keys()].join(', ')})`,
      );
    }
    return partitions;
  }

  records(topic: string, partition: number): readonly StoredRecord[] {
    return this.#partitions(topic)[partition]?.records ?? [];
  }

  partitionCount(topic: string): number {
    return this.#partitions(topic).length;
  }

  committed(group: string, key: string): string | undefined {
    return this.#offsets.get(group, key);
  }

  commit(group: string, entries: readonly [string, string][]): Promise<void> {
    return this.#offsets.commit(group, entries);
  }

  async ensureTopic(topic: string, _options?: { partitions?: number }): Promise<void> {
    if (this.#topics.has(topic)) return;
    throw new VigilError(
      'VIGIL_SOURCE_READ_ONLY',
      `cannot create topic ${topic}: file-import is read-only and its topics are the ones its files list (${[...this.#topics.keys()].join(', ')})`,
    );
  }

  async describeTopic(topic: string): Promise<TopicInfo> {
    const partitions = this.#partitions(topic);
    return {
      topic,
      partitions: partitions.length,
      endOffsets: partitions.map((p) => String(p.records.length)),
    };
  }

  async produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]> {
    for (const r of records) this.#partitions(r.topic);
    const topics = [...new Set(records.map((r) => r.topic))];
    throw new VigilError(
      'VIGIL_SOURCE_READ_ONLY',
      `cannot produce to ${topics.length > 0 ? `topic ${topics.join(', ')}` : 'a topic'}: file-import is read-only (capability produce: false); its records come from the configured files`,
    );
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    if (typeof options.group !== 'string' || options.group.length === 0) {
      throw new VigilError('VIGIL_SOURCE_INVALID_REQUEST', 'consumer: group must be a non-empty string');
    }
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new VigilError('VIGIL_SOURCE_INVALID_REQUEST', 'consumer: topics must list at least one topic');
    }
    for (const topic of options.topics) this.#partitions(topic);
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'file-import source is closed');
    await this.#offsets.load(options.group);
    const consumer = new FileImportConsumer(this, options);
    const members = this.#members.get(options.group) ?? [];
    members.push(consumer);
    this.#members.set(options.group, members);
    this.#rebalance(options.group);
    return consumer;
  }

  leave(consumer: FileImportConsumer): void {
    const members = (this.#members.get(consumer.group) ?? []).filter((m) => m !== consumer);
    this.#members.set(consumer.group, members);
    this.#rebalance(consumer.group);
  }

  /** Spread each topic's partitions over the group's members that subscribe to it (round robin). */
  #rebalance(group: string): void {
    const members = this.#members.get(group) ?? [];
    const plan = new Map<FileImportConsumer, string[]>(members.map((m) => [m, []]));
    for (const topic of new Set(members.flatMap((m) => m.topics))) {
      const subscribed = members.filter((m) => m.topics.includes(topic));
      const count = this.partitionCount(topic);
      for (let p = 0; p < count; p++) plan.get(subscribed[p % subscribed.length]!)!.push(`${topic}/${p}`);
    }
    for (const [member, keys] of plan) member.assign(keys);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const members of [...this.#members.values()]) for (const m of [...members]) await m.close();
  }
}

function toRecords(
  row: ExtractRow,
  n: number,
  file: string,
  mapper: RowMapper,
  timestamp: number,
  keyField: string | undefined,
): StoredRecord[] {
  const headers: Record<string, string> = { 'vigil-file': file, 'vigil-row': String(n) };
  if ('line' in row) {
    const value = {
      _unmapped: {
        reason: row.reason,
        field: null,
        message:
          row.reason === 'invalid_json' ? 'the line is not valid JSON' : 'the line is not a JSON object',
      },
      _source: { file, row: n },
      row: row.line,
    };
    return [
      {
        key: null,
        value: encoder.encode(JSON.stringify(value)),
        headers: { ...headers, 'vigil-unmapped': row.reason },
        timestamp,
      },
    ];
  }
  return mapper.map(row.row).map((outcome: MapOutcome) => {
    const own = outcome.column === undefined ? headers : { ...headers, 'vigil-column': outcome.column };
    if (outcome.ok) {
      const key = keyField === undefined ? undefined : outcome.record[keyField];
      return {
        key: key === undefined ? null : String(key),
        value: encoder.encode(JSON.stringify(outcome.record)),
        headers: own,
        timestamp,
      };
    }
    const value = {
      _unmapped: { reason: outcome.reason, field: outcome.field, message: outcome.message },
      _source: outcome.column === undefined ? { file, row: n } : { file, row: n, column: outcome.column },
      row: row.row,
    };
    return {
      key: null,
      value: encoder.encode(JSON.stringify(value)),
      headers: { ...own, 'vigil-unmapped': outcome.reason },
      timestamp,
    };
  });
}
