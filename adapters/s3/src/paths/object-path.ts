import { VigilError } from '@vigil/core';

/** Keys under `<prefix>_vigil/` hold the lake's own records (commit markers); no object path may start so. */
export const RESERVED_FOLDER = '_vigil/';

/** Why `path` cannot name an object, or null when it can. */
export function objectPathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'must be a non-empty string';
  if (path.length > 900) return 'must be at most 900 characters (S3 keys are limited to 1024 bytes)';
  if (path.startsWith('/')) return 'must be relative (no leading "/")';
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.startsWith(RESERVED_FOLDER))
    return `must not start with "${RESERVED_FOLDER}" (reserved for commit markers)`;
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

/** The key prefix of the lake: '' for the bucket root, otherwise the prefix with exactly one trailing '/'. */
export function lakeRoot(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}
