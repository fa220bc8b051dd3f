import { VigilError } from '@vigil/core';
import { tagBytes, varintBytes, WIRE_VARINT, WireReader } from './protobuf-wire.js';

/**
 * `google.protobuf.Timestamp` of an instant given in epoch microseconds: field 1 `seconds`
 * (int64) and field 2 `nanos` (int32, 0 ≤ nanos < 1e9), zero fields omitted, as Python's
 * `Timestamp.FromDatetime(...).SerializeToString()` writes it.
 */
export function encodeTimestamp(micros: number): Buffer {
  const us = Math.round(micros);
  const seconds = Math.floor(us / 1e6);
  const nanos = (us - seconds * 1e6) * 1000;
  const bytes: number[] = [];
  if (seconds !== 0) bytes.push(...tagBytes(1, WIRE_VARINT), ...varintBytes(seconds));
  if (nanos !== 0) bytes.push(...tagBytes(2, WIRE_VARINT), ...varintBytes(nanos));
  return Buffer.from(bytes);
}

/** Epoch microseconds of a serialized `google.protobuf.Timestamp` (nanos truncated to µs). */
export function decodeTimestamp(buf: Uint8Array): number {
  const reader = new WireReader(buf);
  let seconds = 0n;
  let nanos = 0n;
  try {
    while (!reader.done) {
      const tag = reader.smallVarint();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 && wire === WIRE_VARINT) seconds = BigInt.asIntN(64, reader.varint());
      else if (field === 2 && wire === WIRE_VARINT) nanos = BigInt.asIntN(32, reader.varint());
      else reader.skip(wire);
    }
  } catch (error) {
    throw new VigilError(
      'VIGIL_FEATURE_UNSUPPORTED',
      `stored _ts field is not a protobuf Timestamp: ${error}`,
      {
        cause: error,
      },
    );
  }
  return Number(seconds) * 1e6 + Math.trunc(Number(nanos) / 1000);
}
