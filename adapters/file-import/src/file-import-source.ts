import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  type Consumer,
  type ConsumerOptions,
  type Logger,
  type ProduceRecord,
  type Source,
  type SourceCapabilities,
  type TopicInfo,
  type TopicPartitionOffset,
  VigilError,
} from '@vigil/core';
import type { ImportFile } from './config.js';
import { type ConsumerHost, FileImportConsumer, type StoredRecord } from './consumer/file-import-consumer.js';
import { CommittedOffsets } from './groups/committed-offsets.js';
import { RowMapper } from './mapping/row-mapper.js';
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
  logger: Logger;
}

interface Partition {
  file: string;
  records: StoredRecord[];
}

/** Counts of what was read, per file (no row content). */
export interface ImportedFile {
  path: string;
  topic: string;
  partition: number;
  rows: number;
  unmapped: number;
}

const encoder = new TextEncoder();

function configError(issues: { path: string; message: string }[]): VigilError {
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n');
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
 * value is the row mapped to ClinicalEvent JSON — or, when the row cannot be mapped, the
 * raw row with an `_unmapped` reason, so the medallion quarantines it and nothing is lost.
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
    const issues: { path: string; message: string }[] = [];
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
    try {
      for (const [i, file] of options.files.entries()) {
        const at = `files[${i}]`;
        const path = resolve(options.baseDir, file.path);
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
        const mapper = new RowMapper(file.mapping, file.topic);
        if (extract.rows.length > 0) {
          const known = new Set(extract.columns);
          for (const { field, column } of mapper.columns()) {
            if (!known.has(column)) {
              issues.push({
                path: `${at}.mapping.${field}`,
                message: `column '${column}' is not in '${file.path}' (columns: ${extract.columns.join(', ')})`,
              });
            }
          }
        }
        const partitions = topics.get(file.topic) ?? [];
        const name = basename(path);
        let unmapped = 0;
        const records = extract.rows.map((row, n) => {
          const record = toRecord(row, n, name, mapper, mtimeMs);
          if (record.headers['vigil-unmapped'] !== undefined) unmapped++;
          return record;
        });
        files.push({
          path: file.path,
          topic: file.topic,
          partition: partitions.length,
          rows: records.length,
          unmapped,
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
        unmapped: files.reduce((n, f) => n + f.unmapped, 0),
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

function toRecord(
  row: ExtractRow,
  n: number,
  file: string,
  mapper: RowMapper,
  timestamp: number,
): StoredRecord {
  const headers: Record<string, string> = { 'vigil-file': file, 'vigil-row': String(n) };
  if ('line' in row) {
    headers['vigil-unmapped'] = row.reason;
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
    return { key: null, value: encoder.encode(JSON.stringify(value)), headers, timestamp };
  }
  const outcome = mapper.map(row.row);
  if (outcome.ok) {
    const site = outcome.event.siteId;
    return {
      key: typeof site === 'string' ? site : null,
      value: encoder.encode(JSON.stringify(outcome.event)),
      headers,
      timestamp,
    };
  }
  headers['vigil-unmapped'] = outcome.reason;
  const value = {
    _unmapped: { reason: outcome.reason, field: outcome.field, message: outcome.message },
    _source: { file, row: n },
    row: row.row,
  };
  return { key: null, value: encoder.encode(JSON.stringify(value)), headers, timestamp };
}
