import { VigilError } from '@vigil/core';

interface S3ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(error: unknown): S3ErrorShape {
  return typeof error === 'object' && error !== null ? (error as S3ErrorShape) : {};
}

/** The object, version or bucket does not exist (404). */
export function isNotFound(error: unknown): boolean {
  const e = shape(error);
  return (
    e.name === 'NoSuchKey' ||
    e.name === 'NotFound' ||
    e.name === 'NoSuchVersion' ||
    e.name === 'NoSuchBucket' ||
    e.$metadata?.httpStatusCode === 404
  );
}

/** A conditional request (If-Match, If-None-Match) did not hold (412). */
export function isPreconditionFailed(error: unknown): boolean {
  const e = shape(error);
  return e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412;
}

/** One line naming what S3 (or the network) said, without the request's secrets. */
export function describeS3Error(error: unknown): string {
  const e = shape(error);
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? e.code ?? 'Error';
  const message = e.message ?? String(error);
  return `${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${message}`;
}

/** Wrap a failed S3 call in a VigilError naming the operation and its target. */
export function s3Failure(operation: string, target: string, error: unknown): VigilError {
  if (error instanceof VigilError) return error;
  return new VigilError(
    'VIGIL_COMPONENT_FAILED',
    `s3 ${operation} ${target} failed: ${describeS3Error(error)}`,
    {
      cause: error,
      details: { operation },
    },
  );
}
