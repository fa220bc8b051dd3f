import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { isVigilError } from '../errors.js';
import {
  assertMessage,
  assertObjectData,
  assertObjectPath,
  assertPrefix,
  assertRef,
  checkedLogLimit,
  checkedMergeStrategy,
  checkedMetadata,
  objectPathProblem,
} from './lake-store-checks.js';

/** Run `check`, expect VIGIL_LAKE_INVALID_REQUEST with this message and field. */
function refused(check: () => unknown, message: string, field: string): void {
  assert.throws(check, (error: unknown) => {
    assert.ok(isVigilError(error, 'VIGIL_LAKE_INVALID_REQUEST'), String(error));
    assert.equal(error.message, message);
    assert.equal(error.details?.field, field);
    return true;
  });
}

describe('object paths', () => {
  it('accept relative paths up to the limit, with any other characters', () => {
    for (const path of ['a', 'silver/x.parquet', 'odd/a b?x=1#ü', 'x'.repeat(1024)]) {
      assert.equal(objectPathProblem(path), null, path);
      assertObjectPath(path);
    }
  });

  it('refuse empty, non-string, too long, absolute and NUL paths, naming the field', () => {
    assert.equal(objectPathProblem(''), 'must be a non-empty string');
    assert.equal(objectPathProblem(7), 'must be a non-empty string');
    assert.equal(objectPathProblem('x'.repeat(1025)), 'must be at most 1024 characters');
    assert.equal(objectPathProblem('a\0b'), 'must not contain NUL');
    refused(() => assertObjectPath('/abs'), `path '/abs' must be relative (no leading "/")`, 'path');
    refused(() => assertObjectPath('', {}, 'source'), `source '' must be a non-empty string`, 'source');
  });

  it('apply a store’s own limit and reserved folder', () => {
    const rules = {
      maxLength: 900,
      maxLengthReason: 'S3 keys are limited to 1024 bytes',
      reservedFolder: { folder: '_vigil/', purpose: 'commit markers' },
    };
    assert.equal(objectPathProblem('x'.repeat(900), rules), null);
    assert.equal(
      objectPathProblem('x'.repeat(901), rules),
      'must be at most 900 characters (S3 keys are limited to 1024 bytes)',
    );
    refused(
      () => assertObjectPath('_vigil/commits/x.json', rules),
      `path '_vigil/commits/x.json' must not start with "_vigil/" (reserved for commit markers)`,
      'path',
    );
    assert.equal(objectPathProblem('data/_vigil/x', rules), null);
  });
});

describe('other LakeStore arguments', () => {
  it('data must be a Uint8Array (a Buffer is one)', () => {
    assertObjectData('a', new Uint8Array(1));
    assertObjectData('a', Buffer.from('x'));
    refused(() => assertObjectData('a.txt', 'text'), `data for 'a.txt' must be a Uint8Array`, 'data');
  });

  it('refs must be non-empty strings; prefixes and messages strings', () => {
    assertRef('main');
    refused(() => assertRef(''), 'ref must be a non-empty string', 'ref');
    refused(() => assertRef(undefined, 'from'), 'from must be a non-empty string', 'from');
    assertPrefix('');
    refused(() => assertPrefix(3), 'prefix must be a string', 'prefix');
    assertMessage('');
    refused(() => assertMessage(null), 'message must be a string', 'message');
  });

  it('metadata is copied, and a non-string value is refused naming its key', () => {
    const given = { runId: 'r1' };
    const checked = checkedMetadata(given);
    assert.deepEqual(checked, given);
    assert.notEqual(checked, given);
    assert.deepEqual(checkedMetadata(undefined), {});
    refused(
      () => checkedMetadata({ ok: 'x', rows: 3 as unknown as string }),
      'metadata.rows must be a string, got number',
      'metadata.rows',
    );
  });

  it('a log limit is absent (no limit) or a non-negative number', () => {
    assert.equal(checkedLogLimit(undefined), Number.POSITIVE_INFINITY);
    assert.equal(checkedLogLimit(0), 0);
    assert.equal(checkedLogLimit(5), 5);
    refused(() => checkedLogLimit(-1), 'limit -1 must be a non-negative number', 'limit');
    refused(() => checkedLogLimit(Number.NaN), 'limit NaN must be a non-negative number', 'limit');
  });

  it('a merge strategy is absent (conflicts throw), source-wins or dest-wins', () => {
    assert.equal(checkedMergeStrategy(undefined), undefined);
    assert.equal(checkedMergeStrategy('source-wins'), 'source-wins');
    assert.equal(checkedMergeStrategy('dest-wins'), 'dest-wins');
    for (const bad of ['theirs', '', null, 1]) {
      refused(
        () => checkedMergeStrategy(bad),
        `strategy '${String(bad)}' is not a merge strategy: use 'source-wins' or 'dest-wins', or none to fail on conflicts`,
        'strategy',
      );
    }
  });
});
