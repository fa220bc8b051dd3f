import { VigilError } from '@vigil/core';

const allowed = /^[A-Za-z0-9._/-]+$/;

/** Why `name` is not a valid branch name, or null when it is. */
export function branchNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (name.length > 255) return 'must be at most 255 characters';
  if (!allowed.test(name)) return 'may contain only letters, digits, ".", "_", "/" and "-"';
  if (name.startsWith('/')) return 'must not start with "/"';
  if (name.endsWith('/')) return 'must not end with "/"';
  if (name.includes('..')) return 'must not contain ".."';
  if (name.includes('//')) return 'must not contain "//"';
  if (name.split('/').some((segment) => segment === '.' || segment.endsWith('.lock')))
    return 'must not have a "." segment or a segment ending in ".lock"';
  return null;
}

export function isBranchName(name: unknown): name is string {
  return branchNameProblem(name) === null;
}

/** Throw LAKE_INVALID_REQUEST naming the field when `name` cannot be a branch. */
export function assertBranchName(name: unknown, field: string): asserts name is string {
  const problem = branchNameProblem(name);
  if (problem !== null) {
    throw new VigilError(
      'VIGIL_LAKE_INVALID_REQUEST',
      `${field} '${String(name)}' is not a valid branch name: ${problem}`,
      {
        details: { field, reason: problem },
      },
    );
  }
}

/** A file name for a branch: reversible, flat (no directories), safe on every file system. */
export function branchFileName(name: string): string {
  return encodeURIComponent(name);
}

export function branchFromFileName(file: string): string {
  return decodeURIComponent(file);
}
