/**
 * Commit ids of the S3 lake: 12 hex digits of (2^48 - 1 - committedAt in ms), then 8 hex digits
 * of the marker's content hash. Newer commits have smaller ids, so S3's ascending key listing of
 * the marker folder is newest first: the branch head is the first key, and `log` pages in order.
 */
const MAX_MS = 0xffff_ffff_ffff;

export const COMMIT_ID_PATTERN = /^[0-9a-f]{20}$/;

export function isCommitId(ref: string): boolean {
  return COMMIT_ID_PATTERN.test(ref);
}

export function commitId(committedAtMs: number, digestHex: string): string {
  return (MAX_MS - committedAtMs).toString(16).padStart(12, '0') + digestHex.slice(0, 8);
}
