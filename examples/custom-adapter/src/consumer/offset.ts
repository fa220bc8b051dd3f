import { VigilError } from '@vigil/core';

/** Parse a decimal-string offset (the port's wire form) into an index. */
export function parseOffset(value: unknown, field: string): number {
  if (typeof value !== 'string' || !/^(0|[1-9]\d*)$/.test(value)) {
    throw new VigilError(
      'VIGIL_SOURCE_INVALID_REQUEST',
      `${field} must be a non-negative decimal string, got ${JSON.stringify(value)}`,
    );
  }
  const offset = Number(value);
  if (!Number.isSafeInteger(offset)) {
    throw new VigilError('VIGIL_SOURCE_INVALID_OFFSET', `${field} ${value} is past any in-memory partition`);
  }
  return offset;
}
