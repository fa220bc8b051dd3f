import type { Commit } from '@vigil/core';

/** A commit as stored: canonical JSON of this record; its sha256 is the commit id. */
export interface CommitRecord {
  tree: string;
  parents: string[];
  message: string;
  metadata: Record<string, string>;
  /** ISO-8601 UTC, never earlier than any parent's. */
  committedAt: string;
}

/** Every commit object starts with these bytes (canonical JSON sorts `committedAt` first). */
export const COMMIT_PREFIX = '{"committedAt":"';

export function toCommit(id: string, record: CommitRecord): Commit {
  return {
    id,
    parents: [...record.parents],
    message: record.message,
    metadata: { ...record.metadata },
    committedAt: record.committedAt,
  };
}

export function isCommitRecord(value: unknown): value is CommitRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.tree === 'string' &&
    Array.isArray(record.parents) &&
    typeof record.message === 'string' &&
    typeof record.committedAt === 'string' &&
    typeof record.metadata === 'object' &&
    record.metadata !== null
  );
}
