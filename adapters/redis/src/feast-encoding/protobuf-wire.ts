/**
 * The two pieces of the protobuf wire format that Feast's `Value` and `Timestamp` messages
 * need: varints and field tags. Fixed-width numbers are written with Buffer's LE methods.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_64 = 1n << 64n;

/** Bytes of a field tag: `(field << 3) | wireType`, itself a varint. */
export function tagBytes(field: number, wireType: number): number[] {
  return varintBytes((field << 3) | wireType);
}

/**
 * Bytes of a varint. Negative numbers are two's complement over 64 bits (10 bytes), as
 * protobuf writes int32 and int64; `value` must be an integer (a bigint for |v| > 2^53).
 */
export function varintBytes(value: number | bigint): number[] {
  const out: number[] = [];
  if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    let v = value;
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    return out;
  }
  let v = BigInt(value);
  if (v < 0n) v += TWO_64;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** A cursor over a message's bytes. */
export class WireReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get pos(): number {
    return this.#pos;
  }

  get done(): boolean {
    return this.#pos >= this.#buf.length;
  }

  /** The next varint as an unsigned 64-bit bigint. */
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.#buf[this.#pos++];
      if (byte === undefined) throw new RangeError('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
      if (shift > 63n) throw new RangeError('varint longer than 10 bytes');
    }
  }

  /** The next varint when it fits in 32 bits (tags, lengths), as a number. */
  smallVarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const byte = this.#buf[this.#pos++];
      if (byte === undefined) throw new RangeError('truncated varint');
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 0x80;
    }
    throw new RangeError('varint does not fit 32 bits');
  }

  /** The next `n` bytes. */
  bytes(n: number): Uint8Array {
    if (this.#pos + n > this.#buf.length) throw new RangeError('truncated field');
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** Skip a field of the given wire type whose tag was just read. */
  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_FIXED64) this.bytes(8);
    else if (wireType === WIRE_FIXED32) this.bytes(4);
    else if (wireType === WIRE_LEN) this.bytes(this.smallVarint());
    else throw new RangeError(`unsupported wire type ${wireType}`);
  }
}
