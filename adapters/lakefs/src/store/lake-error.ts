import { type ErrorCode, VigilError } from '@vigil/core';
import { isLakeFsApiError } from '../client/lakefs-api-error.js';

/** What the failed operation was about, for the message: e.g. `branch 'work'` or `object 'a.txt' at 'main'`. */
export interface LakeErrorContext {
  /** The operation, e.g. `commit`. */
  op: string;
  /** What the operation targets, named in the message. */
  subject: string;
  details?: Record<string, unknown>;
}

const NO_CHANGES = /\bno changes\b/i;

/** The Vigil code for a lakeFS answer: 404 → not found, 409 → conflict, "no changes" → no changes. */
export function codeFor(status: number, serverMessage: string): ErrorCode {
  if (status === 404) return 'VIGIL_LAKE_NOT_FOUND';
  if (status === 409) return 'VIGIL_LAKE_CONFLICT';
  if (NO_CHANGES.test(serverMessage)) return 'VIGIL_LAKE_NO_CHANGES';
  if (status === 400 || status === 403 || status === 412) return 'VIGIL_LAKE_INVALID_REQUEST';
  return 'VIGIL_COMPONENT_FAILED';
}

/** Turn a lakeFS API error into a VigilError naming the subject; other errors pass through unchanged. */
export function toLakeError(error: unknown, context: LakeErrorContext): unknown {
  if (!isLakeFsApiError(error)) return error;
  const code = codeFor(error.status, error.serverMessage);
  const reason =
    code === 'VIGIL_LAKE_NOT_FOUND'
      ? 'does not exist'
      : code === 'VIGIL_LAKE_NO_CHANGES'
        ? 'has nothing staged to commit'
        : error.status === 401
          ? 'was refused: lakeFS rejected the access key (check accessKeyId/secretAccessKey)'
          : 'failed';
  return new VigilError(
    code,
    `lakeFS ${context.op}: ${context.subject} ${reason} (lakeFS ${error.status}: ${error.serverMessage})`,
    {
      cause: error,
      details: { status: error.status, lakefs: error.serverMessage, ...context.details },
    },
  );
}

/** Run `work`, turning a lakeFS API error into a VigilError naming the subject. */
export async function lakeCall<T>(context: LakeErrorContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toLakeError(error, context);
  }
}
