import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LakeStore, Logger } from '@vigil/core';
import { VigilError } from '@vigil/core';
import {
  type BronzeRecord,
  type BronzeRecovery,
  type BronzeWriteResult,
  recoverBronze,
  writeBronze,
} from './bronze.js';
import type { Catalog } from './catalog-config.js';
import { DuckDBSession } from './duckdb-session.js';
import type { Expectation } from './expectations.js';
import { buildGold, type GoldResult } from './gold.js';
import { LakeFiles } from './lake-files.js';
import { buildSilver, type SilverOptions, type SilverResult } from './silver.js';

export interface MedallionOptions {
  lake: LakeStore;
  /** Scratch folder for DuckDB spill files and Parquet on its way into the lake (created; removed on close). */
  workdir: string;
  logger?: Logger;
  /** DuckDB worker threads. Default 2. */
  threads?: number;
  /** DuckDB memory limit. Default '2GB'. */
  memoryLimit?: string;
  /** Readings of one measure from different origins this close in time are one measurement. Default 30. */
  dedupeWindowMinutes?: number;
  /** How far observedAt may run ahead of recordedAt before the event is quarantined. Default 5. */
  futureToleranceMinutes?: number;
  /** Deployment prefix of the event topics (e.g. `trial-42.`): bronze keeps the topic as received and derives the kind without it. */
  topicPrefix?: string;
  /** Measures, units, ranges and signs silver accepts (`buildCatalog`). Default: the built-in catalogue. */
  catalog?: Catalog;
  /** The expectation suite silver runs (`buildExpectationSuite`). Default: the built-in suite of `catalog`. */
  expectations?: readonly Expectation[];
  /** Folder each silver build writes its validation report to (validation.json, validation.html). Default: none. */
  reportDir?: string;
}

/**
 * The bronze → silver → gold transforms of the adverse-event job, over a LakeStore and an
 * in-process DuckDB. Every method stages its output on the branch it is given; the caller
 * commits (and merges). Methods run one at a time.
 */
export interface Medallion {
  /** Append consumed records to bronze; re-delivered (topic, partition, offset) triples are skipped. */
  writeBronze(branch: string, records: readonly BronzeRecord[]): Promise<BronzeWriteResult>;
  /**
   * Adopt bronze a killed writer staged on the branch but never committed: its records go into
   * the offset ledger (staged; the caller commits), so their redelivery adds nothing twice.
   */
  recoverBronze(branch: string): Promise<BronzeRecovery>;
  /** Rebuild silver and quarantine from all bronze on the branch; `reportDir` overrides the medallion's for this build. */
  buildSilver(branch: string, options?: { reportDir?: string }): Promise<SilverResult>;
  /** Rebuild the gold tables from silver on the branch. */
  buildGold(branch: string): Promise<GoldResult>;
  /** Close DuckDB and remove the scratch folder. Idempotent. */
  close(): Promise<void>;
}

class DuckDBMedallion implements Medallion {
  readonly #lake: LakeStore;
  readonly #scratch: string;
  readonly #logger: Logger | undefined;
  readonly #db: DuckDBSession;
  readonly #files: LakeFiles;
  readonly #silver: SilverOptions;
  readonly #topicPrefix: string;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: MedallionOptions, scratch: string) {
    this.#lake = options.lake;
    this.#scratch = scratch;
    this.#logger = options.logger?.child({ component: 'medallion' });
    this.#db = new DuckDBSession({
      threads: options.threads ?? 2,
      memoryLimit: options.memoryLimit ?? '2GB',
      tempDirectory: join(scratch, 'duckdb'),
    });
    this.#files = new LakeFiles(options.lake, scratch);
    this.#topicPrefix = options.topicPrefix ?? '';
    this.#silver = {
      dedupeWindowMinutes: options.dedupeWindowMinutes ?? 30,
      futureToleranceMinutes: options.futureToleranceMinutes ?? 5,
      ...(options.catalog ? { catalog: options.catalog } : {}),
      ...(options.expectations ? { expectations: options.expectations } : {}),
      ...(options.reportDir ? { reportDir: options.reportDir } : {}),
    };
  }

  /** Run transforms one after another. */
  #serial<T>(method: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new VigilError('VIGIL_KERNEL_CLOSED', `medallion.${method} called after close()`),
      );
    }
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  writeBronze(branch: string, records: readonly BronzeRecord[]): Promise<BronzeWriteResult> {
    return this.#serial('writeBronze', async () => {
      const result = await writeBronze(
        this.#db,
        this.#lake,
        this.#files,
        this.#scratch,
        branch,
        records,
        this.#topicPrefix,
      );
      this.#logger?.debug(
        { rows: result.rows, skipped: result.skipped, files: result.paths.length },
        'bronze batch',
      );
      return result;
    });
  }

  recoverBronze(branch: string): Promise<BronzeRecovery> {
    return this.#serial('recoverBronze', async () => {
      const result = await recoverBronze(this.#db, this.#lake, this.#files, branch);
      if (result.adopted.length > 0) {
        this.#logger?.warn(
          { files: result.adopted.length, rows: result.rows },
          'bronze: adopted files staged by an interrupted batch',
        );
      }
      return result;
    });
  }

  buildSilver(branch: string, options: { reportDir?: string } = {}): Promise<SilverResult> {
    return this.#serial('buildSilver', async () => {
      const silverOptions = options.reportDir
        ? { ...this.#silver, reportDir: options.reportDir }
        : this.#silver;
      const result = await buildSilver(this.#db, this.#files, this.#scratch, branch, silverOptions);
      this.#logger?.info(
        {
          bronze: result.bronze,
          silver: result.silver,
          duplicates: result.duplicates,
          quarantined: result.quarantined,
          reasons: result.reasons,
        },
        'silver built',
      );
      return result;
    });
  }

  buildGold(branch: string): Promise<GoldResult> {
    return this.#serial('buildGold', async () => {
      const result = await buildGold(this.#db, this.#files, this.#scratch, branch);
      this.#logger?.info(
        { patientDays: result.patientDays, outcomes: result.outcomes, patients: result.patients },
        'gold built',
      );
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#db.close();
    await rm(this.#scratch, { recursive: true, force: true });
  }
}

/** Create the medallion transforms; DuckDB opens on first use. */
export async function createMedallion(options: MedallionOptions): Promise<Medallion> {
  if (typeof options.workdir !== 'string' || options.workdir.length === 0) {
    throw new VigilError('VIGIL_CONFIG_INVALID', 'medallion workdir must be a non-empty path', {
      details: { issues: [{ path: 'workdir', message: 'must be a non-empty path' }] },
    });
  }
  const scratch = join(options.workdir, 'medallion');
  await mkdir(join(scratch, 'duckdb'), { recursive: true });
  return new DuckDBMedallion(options, scratch);
}
