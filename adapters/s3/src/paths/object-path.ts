import type { ObjectPathRules } from '@vigil/core';

/** Keys under `<prefix>_vigil/` hold the lake's own records (commit markers); no object path may start so. */
export const RESERVED_FOLDER = '_vigil/';

/** What an S3 lake adds to the common object-path checks: room for the prefix in a key, the reserved folder. */
export const S3_OBJECT_PATH_RULES: ObjectPathRules = Object.freeze({
  maxLength: 900,
  maxLengthReason: 'S3 keys are limited to 1024 bytes',
  reservedFolder: Object.freeze({ folder: RESERVED_FOLDER, purpose: 'commit markers' }),
});

/** The key prefix of the lake: '' for the bucket root, otherwise the prefix with exactly one trailing '/'. */
export function lakeRoot(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}
