import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface DuckDBOptions {
  /** Worker threads DuckDB may use. */
  threads: number;
  /** DuckDB memory limit, e.g. '2GB'. */
  memoryLimit: string;
  /** Folder DuckDB may spill to. */
  tempDirectory: string;
}

/** Quote a string as a SQL literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `read_parquet([...])` over local files, union by name. */
export function readParquet(paths: readonly string[]): string {
  return `read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)`;
}

/**
 * One in-process DuckDB database (UTC, bounded threads and memory) opened on first use.
 * Each transform takes a fresh connection, so its temporary tables vanish when it ends.
 */
export class DuckDBSession {
  readonly #options: DuckDBOptions;
  #instance: Promise<DuckDBInstance> | undefined;

  constructor(options: DuckDBOptions) {
    this.#options = options;
  }

  async #open(): Promise<DuckDBInstance> {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    return DuckDBInstance.create(':memory:', {
      threads: String(this.#options.threads),
      memory_limit: this.#options.memoryLimit,
      temp_directory: this.#options.tempDirectory,
    });
  }

  /** Run `work` on a fresh connection and close the connection afterwards. */
  async withConnection<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
    this.#instance ??= this.#open();
    const instance = await this.#instance;
    const raw = await instance.connect();
    try {
      await raw.run(`SET TimeZone = 'UTC'`);
      return await work(new Connection(raw));
    } finally {
      raw.closeSync();
    }
  }

  async close(): Promise<void> {
    const pending = this.#instance;
    this.#instance = undefined;
    if (pending) (await pending).closeSync();
  }
}

/** The few things the transforms do with a connection. */
export class Connection {
  readonly raw: DuckDBConnection;

  constructor(raw: DuckDBConnection) {
    this.raw = raw;
  }

  async run(sql: string): Promise<void> {
    await this.raw.run(sql);
  }

  /** Rows as plain JS values (BIGINT → bigint, TIMESTAMP → Date). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    const reader = await this.raw.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  }

  async count(sql: string): Promise<number> {
    const [row] = await this.rows(`SELECT count(*) AS n FROM (${sql})`);
    return Number(row?.n ?? 0);
  }
}
