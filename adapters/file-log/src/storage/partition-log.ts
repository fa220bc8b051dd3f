/**
 * One partition: an ordered list of segments, appended to by one writer at a time and
 * read with positional reads. Records become visible to readers (`endOffset`) only once
 * written and, unless `fsync` is 'never', fsynced.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, syncDirectory } from '@vigil/core';
import type { DecodedRecord, PreparedRecord } from './frame.js';
import { decodeFrames, encodeFrames } from './frame.js';
import { parseSegmentFileName, Segment, segmentFileName } from './segment.js';

export type FsyncPolicy = 'always' | 'batch' | 'never';

export interface PartitionLogOptions {
  segmentBytes: number;
  fsync: FsyncPolicy;
  logger: Logger;
}

export class PartitionLog {
  readonly dir: string;
  readonly #options: PartitionLogOptions;
  readonly #segments: Segment[];
  #endOffset: number;
  /** Tail of the append queue: appends run one after another, in call order. */
  #appendChain: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, options: PartitionLogOptions, segments: Segment[]) {
    this.dir = dir;
    this.#options = options;
    this.#segments = segments;
    this.#endOffset = segments.at(-1)!.endOffset;
  }

  /** Open (creating when empty) the partition in `dir`, recovering from a crash. */
  static async open(dir: string, options: PartitionLogOptions): Promise<PartitionLog> {
    await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir))
      .map(parseSegmentFileName)
      .filter((b): b is number => b !== undefined)
      .sort((a, b) => a - b);
    const segments: Segment[] = [];
    try {
      for (const [i, base] of bases.entries()) {
        const expected = segments.at(-1)?.endOffset ?? base;
        if (base !== expected) {
          // A gap after a truncated segment: later segments cannot be reached in order.
          await PartitionLog.#dropSegments(dir, bases.slice(i), options.logger, `expected base ${expected}`);
          break;
        }
        const { segment, scan } = await Segment.recover(dir, base);
        segments.push(segment);
        if (scan.stoppedBy !== undefined) {
          options.logger.warn(
            { dir, segment: base, validBytes: scan.validBytes, reason: scan.stoppedBy },
            'file-log: truncated an incomplete or corrupt tail',
          );
          await PartitionLog.#dropSegments(
            dir,
            bases.slice(i + 1),
            options.logger,
            'after a truncated segment',
          );
          break;
        }
      }
      if (segments.length === 0) {
        segments.push(await Segment.create(dir, 0));
        if (options.fsync !== 'never') await syncDirectory(dir);
      }
    } catch (error) {
      await Promise.all(segments.map((s) => s.close()));
      throw error;
    }
    return new PartitionLog(dir, options, segments);
  }

  static async #dropSegments(dir: string, bases: number[], logger: Logger, why: string): Promise<void> {
    if (bases.length === 0) return;
    for (const base of bases) await rm(join(dir, segmentFileName(base)), { force: true });
    logger.warn({ dir, segments: bases.length, why }, 'file-log: removed unreachable segments');
  }

  /** Next offset to be written (the high-water mark readers see). */
  get endOffset(): number {
    return this.#endOffset;
  }

  /** Append records with consecutive offsets; resolves with the first one once durable. */
  append(records: readonly PreparedRecord[]): Promise<number> {
    const run = this.#appendChain.then(() => this.#append(records));
    this.#appendChain = run.catch(() => undefined);
    return run;
  }

  /** Wait for appends already queued. */
  async flushed(): Promise<void> {
    await this.#appendChain;
  }

  async #append(records: readonly PreparedRecord[]): Promise<number> {
    const first = this.#endOffset;
    if (this.#options.fsync === 'always') {
      for (const record of records) await this.#appendBatch([record]);
    } else {
      await this.#appendBatch(records);
    }
    return first;
  }

  /**
   * Write a batch as one write per segment it touches, roll to new segments at
   * `segmentBytes`, fsync per policy, then publish the new end offset. On failure the
   * log is cut back to where it was.
   */
  async #appendBatch(records: readonly PreparedRecord[]): Promise<void> {
    const first = this.#endOffset;
    const { buffer, starts } = encodeFrames(records, first);
    const segmentsBefore = this.#segments.length;
    const active = this.#segments.at(-1)!;
    const sizeBefore = active.size;
    const indexBefore = active.index.length;
    const touched: Segment[] = [];
    try {
      let chunkStart = 0;
      let chunkFirst = 0;
      for (let i = 0; i <= records.length; i++) {
        const segment = this.#segments.at(-1)!;
        const frameStart = starts[i]!;
        const rollHere =
          i < records.length &&
          segment.size + (starts[i + 1]! - chunkStart) > this.#options.segmentBytes &&
          segment.size + (frameStart - chunkStart) > 0;
        if (i === records.length || rollHere) {
          if (frameStart > chunkStart) {
            await segment.write(buffer.subarray(chunkStart, frameStart));
            for (let j = chunkFirst; j < i; j++) segment.index.push(segment.size + (starts[j]! - chunkStart));
            segment.size += frameStart - chunkStart;
            if (!touched.includes(segment)) touched.push(segment);
          }
          if (rollHere) {
            this.#segments.push(await Segment.create(this.dir, first + i));
            if (this.#options.fsync !== 'never') await syncDirectory(this.dir);
          }
          chunkStart = frameStart;
          chunkFirst = i;
        }
      }
      if (this.#options.fsync !== 'never') await Promise.all(touched.map((s) => s.sync()));
    } catch (error) {
      await this.#rollBack(segmentsBefore, sizeBefore, indexBefore);
      throw error;
    }
    this.#endOffset = first + records.length;
  }

  async #rollBack(segmentsBefore: number, sizeBefore: number, indexBefore: number): Promise<void> {
    for (const extra of this.#segments.splice(segmentsBefore)) {
      await extra.close().catch(() => undefined);
      await rm(extra.path, { force: true }).catch(() => undefined);
    }
    const active = this.#segments.at(-1)!;
    active.index.truncate(indexBefore);
    await active.truncate(sizeBefore).catch((error: unknown) => {
      this.#options.logger.error({ dir: this.dir, error }, 'file-log: could not cut back a failed append');
    });
  }

  /**
   * Records from `offset` on: at most `maxRecords`, at most `maxBytes` of frames (but at
   * least one record), never crossing a segment boundary. One positional read.
   */
  async read(offset: number, maxRecords: number, maxBytes: number): Promise<DecodedRecord[]> {
    const end = this.#endOffset;
    if (offset >= end || maxRecords <= 0) return [];
    const segment = this.#segmentOf(offset);
    const last = Math.min(end, segment.endOffset, offset + maxRecords);
    const relative = offset - segment.baseOffset;
    const start = segment.index.position(relative);
    const positionOf = (o: number) =>
      o - segment.baseOffset < segment.index.length
        ? segment.index.position(o - segment.baseOffset)
        : segment.size;
    let stop = offset + 1;
    while (stop < last && positionOf(stop + 1) - start <= maxBytes) stop++;
    const bytes = await segment.read(start, positionOf(stop) - start);
    return decodeFrames(bytes);
  }

  #segmentOf(offset: number): Segment {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.#segments[lo]!;
  }

  /** Number of segment files (for tests and metrics). */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Wait for queued appends, then close the segment files. */
  async close(): Promise<void> {
    await this.#appendChain;
    await Promise.all(this.#segments.map((s) => s.close()));
  }
}
