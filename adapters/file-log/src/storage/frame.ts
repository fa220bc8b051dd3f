/**
 * On-disk record frame. All integers little-endian.
 *
 * ```
 * u32 bodyLength   bytes of body
 * u32 crc32        CRC-32 of body
 * body:
 *   u8  magic      1 (format version)
 *   u32 offsetLow  u32 offsetHigh   the record's offset
 *   f64 timestamp  ms since epoch
 *   i32 keyLength  -1 = null key
 *   key bytes (UTF-8)
 *   u32 headerCount, then per header: u32 nameLength, name, u32 valueLength, value (UTF-8)
 *   u32 valueLength, value bytes
 * ```
 *
 * A frame whose length runs past the end of the file, whose CRC does not match, or whose
 * offset is not the expected one marks the end of the valid log (a torn tail write).
 */
import { crc32 } from './crc32.js';

export const FRAME_HEADER_BYTES = 8;
export const FRAME_MAGIC = 1;
const BODY_FIXED_BYTES = 1 + 8 + 8 + 4 + 4 + 4;

/** A validated record ready to be framed. */
export interface PreparedRecord {
  key: string | null;
  value: string | Uint8Array;
  headers: readonly (readonly [string, string])[];
  timestamp: number;
}

export interface DecodedRecord {
  offset: number;
  key: string | null;
  value: Uint8Array;
  headers: Record<string, string>;
  timestamp: number;
}

function valueBytes(value: string | Uint8Array): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

/** Size of the whole frame (header + body) of a record. */
export function frameBytes(record: PreparedRecord): number {
  let size = FRAME_HEADER_BYTES + BODY_FIXED_BYTES + valueBytes(record.value);
  if (record.key !== null) size += Buffer.byteLength(record.key, 'utf8');
  for (const [name, value] of record.headers) {
    size += 8 + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  return size;
}

export interface EncodedBatch {
  buffer: Buffer;
  /** Start of each frame within `buffer`, plus the buffer length at the end. */
  starts: number[];
}

/** Frame `records` with consecutive offsets from `firstOffset` into one buffer. */
export function encodeFrames(records: readonly PreparedRecord[], firstOffset: number): EncodedBatch {
  const sizes = records.map(frameBytes);
  const total = sizes.reduce((a, b) => a + b, 0);
  const buffer = Buffer.allocUnsafe(total);
  const starts: number[] = new Array(records.length + 1);
  let pos = 0;
  for (const [i, record] of records.entries()) {
    starts[i] = pos;
    const frameStart = pos;
    const bodyStart = frameStart + FRAME_HEADER_BYTES;
    pos = bodyStart;
    const offset = firstOffset + i;
    pos = buffer.writeUInt8(FRAME_MAGIC, pos);
    pos = buffer.writeUInt32LE(offset % 0x1_0000_0000, pos);
    pos = buffer.writeUInt32LE(Math.floor(offset / 0x1_0000_0000), pos);
    pos = buffer.writeDoubleLE(record.timestamp, pos);
    if (record.key === null) {
      pos = buffer.writeInt32LE(-1, pos);
    } else {
      const length = buffer.write(record.key, pos + 4, 'utf8');
      buffer.writeInt32LE(length, pos);
      pos += 4 + length;
    }
    pos = buffer.writeUInt32LE(record.headers.length, pos);
    for (const [name, value] of record.headers) {
      const nameLength = buffer.write(name, pos + 4, 'utf8');
      buffer.writeUInt32LE(nameLength, pos);
      pos += 4 + nameLength;
      const valueLength = buffer.write(value, pos + 4, 'utf8');
      buffer.writeUInt32LE(valueLength, pos);
      pos += 4 + valueLength;
    }
    if (typeof record.value === 'string') {
      const length = buffer.write(record.value, pos + 4, 'utf8');
      buffer.writeUInt32LE(length, pos);
      pos += 4 + length;
    } else {
      pos = buffer.writeUInt32LE(record.value.length, pos);
      buffer.set(record.value, pos);
      pos += record.value.length;
    }
    const frameEnd = frameStart + sizes[i]!;
    if (pos !== frameEnd)
      throw new Error(`frame size mismatch: wrote ${pos - frameStart}, sized ${sizes[i]}`);
    buffer.writeUInt32LE(frameEnd - bodyStart, frameStart);
    buffer.writeUInt32LE(crc32(buffer.subarray(bodyStart, frameEnd)), frameStart + 4);
  }
  starts[records.length] = pos;
  return { buffer, starts };
}

export type FrameCheck =
  | { ok: true; length: number }
  | {
      ok: false;
      reason: 'short-header' | 'short-body' | 'bad-length' | 'bad-crc' | 'bad-magic' | 'bad-offset';
    };

/**
 * Check the frame at `pos` of `buffer` (which must hold at least the header; the body is
 * checked only when it fits). `length` is the whole frame's size.
 */
export function checkFrame(
  buffer: Uint8Array,
  pos: number,
  available: number,
  expectedOffset: number,
): FrameCheck {
  if (available < FRAME_HEADER_BYTES) return { ok: false, reason: 'short-header' };
  const view = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const bodyLength = view.readUInt32LE(pos);
  if (bodyLength < BODY_FIXED_BYTES) return { ok: false, reason: 'bad-length' };
  if (FRAME_HEADER_BYTES + bodyLength > available) return { ok: false, reason: 'short-body' };
  const bodyStart = pos + FRAME_HEADER_BYTES;
  const body = view.subarray(bodyStart, bodyStart + bodyLength);
  if (crc32(body) !== view.readUInt32LE(pos + 4)) return { ok: false, reason: 'bad-crc' };
  if (body[0] !== FRAME_MAGIC) return { ok: false, reason: 'bad-magic' };
  const offset = body.readUInt32LE(1) + body.readUInt32LE(5) * 0x1_0000_0000;
  if (offset !== expectedOffset) return { ok: false, reason: 'bad-offset' };
  return { ok: true, length: FRAME_HEADER_BYTES + bodyLength };
}

/**
 * Decode the whole frames in `buffer` (already validated on open or written by this
 * process). Values are views into `buffer`, not copies.
 */
export function decodeFrames(buffer: Buffer): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let pos = 0;
  while (pos < buffer.length) {
    const bodyLength = buffer.readUInt32LE(pos);
    const end = pos + FRAME_HEADER_BYTES + bodyLength;
    pos += FRAME_HEADER_BYTES + 1;
    const offset = buffer.readUInt32LE(pos) + buffer.readUInt32LE(pos + 4) * 0x1_0000_0000;
    pos += 8;
    const timestamp = buffer.readDoubleLE(pos);
    pos += 8;
    const keyLength = buffer.readInt32LE(pos);
    pos += 4;
    let key: string | null = null;
    if (keyLength >= 0) {
      key = buffer.toString('utf8', pos, pos + keyLength);
      pos += keyLength;
    }
    const headerCount = buffer.readUInt32LE(pos);
    pos += 4;
    const headers: Record<string, string> = {};
    for (let h = 0; h < headerCount; h++) {
      const nameLength = buffer.readUInt32LE(pos);
      const name = buffer.toString('utf8', pos + 4, pos + 4 + nameLength);
      pos += 4 + nameLength;
      const valueLength = buffer.readUInt32LE(pos);
      const headerValue = buffer.toString('utf8', pos + 4, pos + 4 + valueLength);
      // defineProperty so a header named `__proto__` stays an ordinary entry
      Object.defineProperty(headers, name, {
        value: headerValue,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      pos += 4 + valueLength;
    }
    const valueLength = buffer.readUInt32LE(pos);
    pos += 4;
    const value = new Uint8Array(buffer.buffer, buffer.byteOffset + pos, valueLength);
    pos += valueLength;
    if (pos !== end)
      throw new Error(`corrupt frame at offset ${offset}: body ends at ${pos}, expected ${end}`);
    out.push({ offset, key, value, headers, timestamp });
  }
  return out;
}
