import type { FeatureRow, Logger, PredictionRecord, Pseudonymiser } from '@vigil/core';

/**
 * Answered rows of one request, kept as they are (no copies) until the batch is flushed;
 * records are built at flush time so building them never delays a response.
 */
export interface AnsweredBatch {
  model: string;
  version: string;
  predictionIds: readonly string[];
  /** The entity id of every row (one string) or of each row, as sent; absent: none was sent. */
  entityIds?: string | readonly string[];
  /**
   * Entity keys are pseudonymised at flush, off the response path: `entity` for entity ids,
   * `prediction` (uncached) for rows without one, which are keyed by their (served) prediction id.
   */
  pseudonymise: { entity: Pseudonymiser; prediction: Pseudonymiser };
  scores: ArrayLike<number>;
  latencyMs: number;
  fallback: boolean;
  at: Date;
  sites?: readonly (string | undefined)[];
  /** For a mirror's answers: the served prediction each row shadows. */
  shadowOf?: readonly string[];
  /** Row-major input rows and their width; the last `featureNames.length` values of a row are its features. */
  x?: Float32Array;
  width: number;
  featureNames: readonly string[];
}

export interface PredictionEmitterOptions {
  /** Flush once this many rows are waiting. */
  maxRows: number;
  /** Flush rows that waited this long (ms). */
  maxDelayMs: number;
  /**
   * Rows per `emit` call within one flush (default 64): a flush builds and emits them chunk by
   * chunk, yielding to the event loop in between, so a large flush never holds responses for
   * the time of building, checking and writing all its records at once.
   */
  chunkRows?: number;
}

/** A row's features (the row itself, or the last step of a sequence row `L·d` wide), as a view of `x`: nothing copied. */
export function featuresOfRow(
  x: Float32Array,
  row: number,
  width: number,
  names: readonly string[],
): FeatureRow | undefined {
  const d = names.length;
  if (d === 0 || width % d !== 0) return undefined;
  return { names, values: x, offset: row * width + width - d };
}

/**
 * Batches answered rows and hands them to `emit` (the kernel's `predictions` hook) off the
 * response path: on a timer, when `maxRows` are waiting, and on `close` (which waits for
 * every flush). `emit` failures are logged, never thrown.
 */
export class PredictionEmitter {
  readonly #emit: (records: PredictionRecord[]) => Promise<void>;
  readonly #options: PredictionEmitterOptions;
  readonly #logger: Logger;
  #pending: AnsweredBatch[] = [];
  #pendingRows = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Flushes in flight (each emits chunk by chunk, across event-loop turns). */
  readonly #flushing = new Set<Promise<void>>();

  constructor(
    emit: (records: PredictionRecord[]) => Promise<void>,
    options: PredictionEmitterOptions,
    logger: Logger,
  ) {
    this.#emit = emit;
    this.#options = options;
    this.#logger = logger;
  }

  add(batch: AnsweredBatch): void {
    this.#pending.push(batch);
    this.#pendingRows += batch.predictionIds.length;
    if (this.#pendingRows >= this.#options.maxRows) {
      // Still off the response path: the flush runs after the current request's reply.
      setImmediate(() => this.#flushPending());
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flushPending(), this.#options.maxDelayMs);
      this.#timer.unref();
    }
  }

  /**
   * Hand everything waiting to `emit`; resolves when every row added so far has been emitted,
   * including those of flushes still in flight (a timer or `maxRows` flush emits chunk by
   * chunk, across event-loop turns).
   */
  flush(): Promise<void> {
    this.#flushPending();
    return Promise.allSettled([...this.#flushing]).then(() => undefined);
  }

  #flushPending(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending.length === 0) return;
    const batches = this.#pending;
    this.#pending = [];
    this.#pendingRows = 0;
    const task = this.#emitChunks(batches).catch((error: unknown) => {
      // Building the records failed (emit failures are caught per chunk).
      this.#logger.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'predictions could not be emitted',
      );
    });
    this.#flushing.add(task);
    void task.finally(() => this.#flushing.delete(task));
  }

  /** Emit the rows of `batches` chunk by chunk; a chunk whose emit fails is logged and the next ones go on. */
  async #emitChunks(batches: readonly AnsweredBatch[]): Promise<void> {
    const chunkRows = Math.max(1, this.#options.chunkRows ?? 64);
    let next = 0;
    while (next < batches.length) {
      const records: PredictionRecord[] = [];
      while (next < batches.length && records.length < chunkRows) {
        for (const record of toRecords(batches[next++]!)) records.push(record);
      }
      try {
        await this.#emit(records);
      } catch (error) {
        this.#logger.warn(
          { reason: error instanceof Error ? error.message : String(error), rows: records.length },
          'predictions could not be emitted',
        );
      }
      // Let waiting requests through before the next chunk.
      if (next < batches.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Flush what is waiting and wait for every flush in flight. */
  close(): Promise<void> {
    return this.flush();
  }
}

function toRecords(b: AnsweredBatch): PredictionRecord[] {
  const out: PredictionRecord[] = [];
  for (let i = 0; i < b.predictionIds.length; i++) {
    const record: PredictionRecord = {
      predictionId: b.predictionIds[i]!,
      model: b.model,
      version: b.version,
      entityKey: entityKeyOf(b, i),
      score: b.scores[i]!,
      at: b.at,
      latencyMs: b.latencyMs,
      fallback: b.fallback,
    };
    const site = b.sites?.[i];
    if (site !== undefined) record.site = site;
    const shadowOf = b.shadowOf?.[i];
    if (shadowOf !== undefined) record.shadowOf = shadowOf;
    if (b.x) {
      const features = featuresOfRow(b.x, i, b.width, b.featureNames);
      if (features) record.features = features;
    }
    out.push(record);
  }
  return out;
}

function entityKeyOf(b: AnsweredBatch, row: number): string {
  const id = typeof b.entityIds === 'string' ? b.entityIds : b.entityIds?.[row];
  return id !== undefined
    ? b.pseudonymise.entity(id)
    : b.pseudonymise.prediction(b.shadowOf?.[row] ?? b.predictionIds[row]!);
}
