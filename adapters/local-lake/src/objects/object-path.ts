import { VigilError } from '@vigil/core';

/** Why `path` cannot name an object, or null when it can. */
export function objectPathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'must be a non-empty string';
  if (path.length > 1024) return 'must be at most 1024 characters';
  if (path.startsWith('/')) return 'must be relative (no leading "/")';
  if (path.includes('\0')) return 'must not contain NUL';
  return null;
}

export function assertObjectPath(path: unknown, field = 'path'): asserts path is string {
  const problem = objectPathProblem(path);
  if (problem !== null) {
    throw new VigilError('VIGIL_LAKE_INVALID_REQUEST', `${field} '${String(path)}' ${problem}`, {
      details: { field, reason: problem },
    });
  }
}
