import { createHash } from 'node:crypto';
import type { Commit, DiffEntry } from '@vigil/core';
import { z } from 'zod';
import { commitId } from './commit-id.js';

const entrySchema = z.strictObject({
  path: z.string(),
  size: z.number().int().nonnegative(),
  etag: z.string(),
  /** Set when the bucket has versioning: reads at the commit fetch exactly this version. */
  versionId: z.string().optional(),
});

/** One object as a commit saw it. */
export type ManifestEntry = z.output<typeof entrySchema>;

const markerSchema = z.strictObject({
  format: z.literal(1),
  id: z.string(),
  parents: z.array(z.string()),
  message: z.string(),
  metadata: z.record(z.string(), z.string()),
  committedAt: z.string(),
  /** Every object of the lake at the commit, sorted by path. */
  objects: z.array(entrySchema),
  /** What changed since the parent commit (paths written or deleted in between). */
  changes: z.array(z.strictObject({ path: z.string(), type: z.enum(['added', 'removed', 'changed']) })),
});

/** The JSON object `_vigil/commits/<id>.json` that records a commit. */
export type CommitMarker = z.output<typeof markerSchema>;

/** Parse a stored marker; returns the reason when it is not one. */
export function parseMarker(text: string): CommitMarker | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  const parsed = markerSchema.safeParse(json);
  return parsed.success
    ? parsed.data
    : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

/** A new marker; its id orders it by time and hashes its content. */
export function newMarker(fields: {
  parents: string[];
  message: string;
  metadata: Record<string, string>;
  committedAtMs: number;
  objects: ManifestEntry[];
  changes: DiffEntry[];
}): CommitMarker {
  const committedAt = new Date(fields.committedAtMs).toISOString();
  const metadata = Object.fromEntries(Object.entries(fields.metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        fields.parents,
        fields.message,
        metadata,
        committedAt,
        fields.objects.map((o) => [o.path, o.size, o.etag, o.versionId ?? null]),
      ]),
    )
    .digest('hex');
  return {
    format: 1,
    id: commitId(fields.committedAtMs, digest),
    parents: fields.parents,
    message: fields.message,
    metadata,
    committedAt,
    objects: fields.objects,
    changes: fields.changes,
  };
}

export function toCommit(marker: CommitMarker): Commit {
  return {
    id: marker.id,
    parents: [...marker.parents],
    message: marker.message,
    metadata: { ...marker.metadata },
    committedAt: marker.committedAt,
  };
}
