import { type FeatureDtype, type ScalarValue, VigilError } from '@vigil/core';
import {
  tagBytes,
  varintBytes,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  WireReader,
} from './protobuf-wire.js';

/** Field numbers of the `feast.types.Value` oneof. */
const FIELD = {
  bytes: 1,
  string: 2,
  int32: 3,
  int64: 4,
  double: 5,
  float: 6,
  bool: 7,
  unixTimestamp: 8,
  null: 19,
} as const;

const TAG_STRING = Buffer.from(tagBytes(FIELD.string, WIRE_LEN));
const TAG_INT32 = tagBytes(FIELD.int32, WIRE_VARINT);
const TAG_INT64 = tagBytes(FIELD.int64, WIRE_VARINT);
const TAG_DOUBLE = tagBytes(FIELD.double, WIRE_FIXED64)[0]!;
const TAG_FLOAT = tagBytes(FIELD.float, WIRE_FIXED32)[0]!;
const TAG_BOOL = tagBytes(FIELD.bool, WIRE_VARINT)[0]!;
const TAG_UNIX_TS = tagBytes(FIELD.unixTimestamp, WIRE_VARINT);
const EMPTY = Buffer.alloc(0);

/**
 * Serialized `feast.types.Value` of a feature value of the given dtype, byte for byte what
 * Feast's materialisation writes: float64 → double_val, float32 → float_val, int64 →
 * int64_val, int32 → int32_val, string → string_val, bool → bool_val, timestamp →
 * unix_timestamp_val in whole seconds (an ISO string, Date or epoch-ms number in). A oneof
 * member is written even when it holds its default (0, '', false). null → an empty Value
 * (zero bytes), as Feast writes a missing value.
 */
export function encodeValue(value: unknown, dtype: FeatureDtype): Buffer {
  if (value === null || value === undefined) return EMPTY;
  switch (dtype) {
    case 'float64': {
      const n = number(value, dtype);
      const out = Buffer.allocUnsafe(9);
      out[0] = TAG_DOUBLE;
      out.writeDoubleLE(n, 1);
      return out;
    }
    case 'float32': {
      const n = number(value, dtype);
      const out = Buffer.allocUnsafe(5);
      out[0] = TAG_FLOAT;
      out.writeFloatLE(n, 1);
      return out;
    }
    case 'int64':
      return Buffer.from([...TAG_INT64, ...varintBytes(integer(value, dtype, 64))]);
    case 'int32':
      return Buffer.from([...TAG_INT32, ...varintBytes(integer(value, dtype, 32))]);
    case 'string': {
      if (typeof value !== 'string') throw mismatch(value, dtype);
      const bytes = Buffer.from(value, 'utf8');
      return Buffer.concat([TAG_STRING, Buffer.from(varintBytes(bytes.length)), bytes]);
    }
    case 'bool':
      if (typeof value !== 'boolean') throw mismatch(value, dtype);
      return Buffer.from([TAG_BOOL, value ? 1 : 0]);
    case 'timestamp': {
      const ms =
        value instanceof Date
          ? value.getTime()
          : typeof value === 'string' || typeof value === 'number'
            ? new Date(value).getTime()
            : Number.NaN;
      if (!Number.isFinite(ms)) throw mismatch(value, dtype);
      // Python's int(datetime.timestamp()) truncates toward zero.
      return Buffer.from([...TAG_UNIX_TS, ...varintBytes(Math.trunc(ms / 1000))]);
    }
  }
  throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `feature dtype ${JSON.stringify(dtype)} is unknown`);
}

/**
 * The scalar held by a serialized `feast.types.Value`: numbers for the numeric members
 * (int64 beyond 2^53 loses precision), string, boolean, an ISO string for
 * unix_timestamp_val (seconds), null for an empty Value or null_val. List, map and bytes
 * members have no scalar form and are rejected.
 */
export function decodeValue(buf: Uint8Array | null | undefined): ScalarValue {
  if (!buf || buf.length === 0) return null;
  // Fast paths for the common single-member messages.
  if (buf.length === 9 && buf[0] === TAG_DOUBLE) return asBuffer(buf).readDoubleLE(1);
  if (buf.length === 5 && buf[0] === TAG_FLOAT) return asBuffer(buf).readFloatLE(1);
  const reader = new WireReader(buf);
  let result: ScalarValue = null;
  try {
    while (!reader.done) {
      const tag = reader.smallVarint();
      const field = tag >>> 3;
      const wire = tag & 7;
      switch (field) {
        case FIELD.string:
          result = Buffer.from(reader.bytes(reader.smallVarint())).toString('utf8');
          break;
        case FIELD.int32:
          result = Number(BigInt.asIntN(32, reader.varint()));
          break;
        case FIELD.int64:
          result = Number(BigInt.asIntN(64, reader.varint()));
          break;
        case FIELD.double: {
          const b = reader.bytes(8);
          result = Buffer.from(b.buffer, b.byteOffset, 8).readDoubleLE(0);
          break;
        }
        case FIELD.float: {
          const b = reader.bytes(4);
          result = Buffer.from(b.buffer, b.byteOffset, 4).readFloatLE(0);
          break;
        }
        case FIELD.bool:
          result = reader.varint() !== 0n;
          break;
        case FIELD.unixTimestamp:
          result = new Date(Number(BigInt.asIntN(64, reader.varint())) * 1000).toISOString();
          break;
        case FIELD.null:
          reader.varint();
          result = null;
          break;
        default:
          if (field >= 1 && field <= 40) {
            throw new VigilError(
              'VIGIL_FEATURE_UNSUPPORTED',
              `stored feast Value uses field ${field}, which has no scalar form (bytes, list, set or map values are not supported)`,
            );
          }
          reader.skip(wire);
      }
    }
  } catch (error) {
    if (error instanceof VigilError) throw error;
    throw new VigilError(
      'VIGIL_FEATURE_UNSUPPORTED',
      `stored value is not a feast Value protobuf: ${error}`,
      {
        cause: error,
      },
    );
  }
  return result;
}

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

function number(value: unknown, dtype: FeatureDtype): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw mismatch(value, dtype);
}

function integer(value: unknown, dtype: FeatureDtype, bits: 32 | 64): number | bigint {
  if (typeof value === 'number' && Number.isInteger(value)) {
    if (bits === 64 ? Number.isSafeInteger(value) : value >= -0x8000_0000 && value <= 0x7fff_ffff)
      return value;
  }
  let v: number | bigint;
  if (typeof value === 'number' && Number.isInteger(value)) v = value;
  else if (typeof value === 'bigint') v = value;
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) v = BigInt(value);
  else throw mismatch(value, dtype);
  const big = typeof v === 'bigint' ? v : BigInt(v);
  if (BigInt.asIntN(bits, big) !== big) throw mismatch(value, dtype);
  return v;
}

function mismatch(value: unknown, dtype: FeatureDtype): VigilError {
  return new VigilError(
    'VIGIL_FEATURE_INVALID_REQUEST',
    `value of type ${typeof value} cannot be written as a feast ${dtype} Value`,
  );
}
