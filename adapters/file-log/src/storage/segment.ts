/**
 * One segment file of a partition: `<baseOffset as 20 digits>.log`, frames back to back.
 * The open handle serves both positional appends and positional reads.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFrame, FRAME_HEADER_BYTES } from './frame.js';
import { OffsetIndex } from './offset-index.js';

const SCAN_CHUNK_BYTES = 1 << 20;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

/** Base offset from a segment file name, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = /^(\d{20})\.log$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export interface ScanResult {
  /** Bytes of whole, valid frames from the start of the file. */
  validBytes: number;
  /** Why the scan stopped before the end of the file, when it did. */
  stoppedBy?: string;
}

export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  readonly index = new OffsetIndex();
  /** Bytes of whole frames in the file (appends go here). */
  size = 0;
  #handle: FileHandle;

  private constructor(baseOffset: number, path: string, handle: FileHandle) {
    this.baseOffset = baseOffset;
    this.path = path;
    this.#handle = handle;
  }

  /** Create an empty segment file (fails if it exists). */
  static async create(dir: string, baseOffset: number): Promise<Segment> {
    const path = join(dir, segmentFileName(baseOffset));
    return new Segment(baseOffset, path, await open(path, 'wx+'));
  }

  /** Open an existing segment, rebuild its index and cut a torn or corrupt tail. */
  static async recover(dir: string, baseOffset: number): Promise<{ segment: Segment; scan: ScanResult }> {
    const path = join(dir, segmentFileName(baseOffset));
    const segment = new Segment(baseOffset, path, await open(path, 'r+'));
    try {
      const scan = await segment.#scan();
      return { segment, scan };
    } catch (error) {
      await segment.close();
      throw error;
    }
  }

  /** Offset after the last record of this segment. */
  get endOffset(): number {
    return this.baseOffset + this.index.length;
  }

  async #scan(): Promise<ScanResult> {
    const fileSize = (await this.#handle.stat()).size;
    let buffer = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
    let bufferStart = 0;
    let bufferLength = 0;
    const ensure = async (pos: number, bytes: number): Promise<number> => {
      if (pos >= bufferStart && pos + bytes <= bufferStart + bufferLength) return bufferLength;
      const want = Math.min(Math.max(bytes, SCAN_CHUNK_BYTES), fileSize - pos);
      if (buffer.length < want) buffer = Buffer.allocUnsafe(want);
      bufferStart = pos;
      bufferLength = await this.#readFully(buffer, want, pos);
      return bufferLength;
    };
    let pos = 0;
    let stoppedBy: string | undefined;
    while (pos < fileSize) {
      await ensure(pos, FRAME_HEADER_BYTES);
      let check = checkFrame(buffer, pos - bufferStart, bufferStart + bufferLength - pos, this.endOffset);
      if (!check.ok && check.reason === 'short-body') {
        const bodyLength = buffer.readUInt32LE(pos - bufferStart);
        if (pos + FRAME_HEADER_BYTES + bodyLength <= fileSize) {
          await ensure(pos, FRAME_HEADER_BYTES + bodyLength);
          check = checkFrame(buffer, pos - bufferStart, bufferStart + bufferLength - pos, this.endOffset);
        }
      }
      if (!check.ok) {
        stoppedBy = check.reason;
        break;
      }
      this.index.push(pos);
      pos += check.length;
    }
    this.size = pos;
    if (pos < fileSize) await this.truncate(pos);
    return stoppedBy === undefined ? { validBytes: pos } : { validBytes: pos, stoppedBy };
  }

  async #readFully(buffer: Buffer, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  /** Write `data` at the end of the segment (the caller updates `size` and the index). */
  async write(data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.#handle.write(data, done, data.length - done, this.size + done);
      done += bytesWritten;
    }
  }

  /** Read `length` bytes at `position` with one positional read (more only on a short read). */
  async read(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    const got = await this.#readFully(buffer, length, position);
    if (got !== length)
      throw new Error(`short read of ${this.path}: ${got} of ${length} bytes at ${position}`);
    return buffer;
  }

  async sync(): Promise<void> {
    await this.#handle.sync();
  }

  async truncate(size: number): Promise<void> {
    await this.#handle.truncate(size);
    this.size = size;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
