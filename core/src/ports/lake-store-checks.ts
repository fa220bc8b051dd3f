/**
 * Argument checks every LakeStore adapter makes the same way: same codes
 * (`VIGIL_LAKE_INVALID_REQUEST`), same messages naming the field and the reason.
 * Adapters add what only their backend needs (a shorter path limit, a reserved folder).
 */
import { VigilError } from '../errors.js';
import type { MergeStrategy } from './lake-store.js';

/** Rules for object paths beyond the common ones (non-empty, relative, no NUL). */
export interface ObjectPathRules {
  /** Longest path in characters. Default 1024. */
  maxLength?: number;
  /** Why `maxLength` is what it is, shown in the message (e.g. 'S3 keys are limited to 1024 bytes'). */
  maxLengthReason?: string;
  /** A folder holding the store's own records: no object path may start with it. */
  reservedFolder?: { folder: string; purpose: string };
}

function invalid(field: string, message: string): VigilError {
  return new VigilError('VIGIL_LAKE_INVALID_REQUEST', message, { details: { field } });
}

/** Why `path` cannot name an object, or null when it can. */
export function objectPathProblem(path: unknown, rules: ObjectPathRules = {}): string | null {
  const maxLength = rules.maxLength ?? 1024;
  if (typeof path !== 'string' || path.length === 0) return 'must be a non-empty string';
  if (path.length > maxLength) {
    return `must be at most ${maxLength} characters${rules.maxLengthReason ? ` (${rules.maxLengthReason})` : ''}`;
  }
  if (path.startsWith('/')) return 'must be relative (no leading "/")';
  if (path.includes('\0')) return 'must not contain NUL';
  const reserved = rules.reservedFolder;
  if (reserved && path.startsWith(reserved.folder)) {
    return `must not start with "${reserved.folder}" (reserved for ${reserved.purpose})`;
  }
  return null;
}

/** Throw VIGIL_LAKE_INVALID_REQUEST naming the field when `path` cannot name an object. */
export function assertObjectPath(
  path: unknown,
  rules: ObjectPathRules = {},
  field = 'path',
): asserts path is string {
  const problem = objectPathProblem(path, rules);
  if (problem !== null) {
    throw new VigilError('VIGIL_LAKE_INVALID_REQUEST', `${field} '${String(path)}' ${problem}`, {
      details: { field, reason: problem },
    });
  }
}

/** The bytes given to `put` for `path` must be a Uint8Array. */
export function assertObjectData(path: string, data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw invalid('data', `data for '${path}' must be a Uint8Array`);
}

/** A ref (branch name or commit id) must be a non-empty string. */
export function assertRef(ref: unknown, field = 'ref'): asserts ref is string {
  if (typeof ref !== 'string' || ref.length === 0)
    throw invalid(field, `${field} must be a non-empty string`);
}

/** The prefix given to `list` must be a string. */
export function assertPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw invalid('prefix', 'prefix must be a string');
}

/** A commit or merge message must be a string. */
export function assertMessage(message: unknown): asserts message is string {
  if (typeof message !== 'string') throw invalid('message', 'message must be a string');
}

/** Commit metadata as a fresh object of strings (empty when absent); a non-string value is refused. */
export function checkedMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== 'string') {
      throw invalid(`metadata.${key}`, `metadata.${key} must be a string, got ${typeof value}`);
    }
    out[key] = value;
  }
  return out;
}

/** The `limit` of `log`: absent means no limit; otherwise a non-negative number. */
export function checkedLogLimit(limit: number | undefined): number {
  const checked = limit ?? Number.POSITIVE_INFINITY;
  if (!(checked >= 0)) throw invalid('limit', `limit ${checked} must be a non-negative number`);
  return checked;
}

const MERGE_STRATEGIES: readonly MergeStrategy[] = ['source-wins', 'dest-wins'];

/** The `strategy` of `merge`: absent (conflicts throw) or one of the {@link MergeStrategy} names. */
export function checkedMergeStrategy(strategy: unknown): MergeStrategy | undefined {
  if (strategy === undefined) return undefined;
  if (!MERGE_STRATEGIES.includes(strategy as MergeStrategy)) {
    throw invalid(
      'strategy',
      `strategy '${String(strategy)}' is not a merge strategy: use ${MERGE_STRATEGIES.map((s) => `'${s}'`).join(' or ')}, or none to fail on conflicts`,
    );
  }
  return strategy as MergeStrategy;
}
