import { VigilError } from '@vigil/core';

/**
 * Offsets cross the port as decimal strings. The embedded log keeps them as numbers,
 * which is exact up to 2^53 records per partition.
 */
export function parseOffset(value: unknown, field: string): number {
  if (typeof value !== 'string' || !/^(0|[1-9]\d*)$/.test(value)) {
    throw new VigilError(
      'VIGIL_SOURCE_INVALID_OFFSET',
      `${field} must be a non-negative decimal string, got ${JSON.stringify(value)}`,
    );
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new VigilError(
      'VIGIL_SOURCE_INVALID_OFFSET',
      `${field} ${value} is beyond what the embedded log holds`,
    );
  }
  return n;
}

export function formatOffset(offset: number): string {
  return String(offset);
}
