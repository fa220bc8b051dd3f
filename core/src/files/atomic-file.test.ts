import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { syncDirectory, syncFile, writeFileAtomic } from './atomic-file.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-atomic-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates and then replaces the file, leaving no temporary file beside it', async () => {
    const file = join(dir, 'state.json');
    await writeFileAtomic(file, '{"v":1}\n');
    await writeFileAtomic(file, new TextEncoder().encode('{"v":2}\n'));
    assert.equal(await readFile(file, 'utf8'), '{"v":2}\n');
    assert.deepEqual(await readdir(dir), ['state.json']);
  });

  it('without sync, still replaces the file', async () => {
    const file = join(dir, 'state.json');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new', { sync: false });
    assert.equal(await readFile(file, 'utf8'), 'new');
    assert.deepEqual(await readdir(dir), ['state.json']);
  });

  it('writes the temporary file in tmpDir, so the target folder only ever holds whole targets', async () => {
    const tmp = join(dir, 'tmp');
    const refs = join(dir, 'refs');
    await mkdir(tmp);
    await mkdir(refs);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => writeFileAtomic(join(refs, `b${i}`), `${i}\n`, { tmpDir: tmp })),
    );
    assert.equal((await readdir(refs)).length, 20);
    assert.deepEqual(await readdir(tmp), []);
    assert.equal(await readFile(join(refs, 'b7'), 'utf8'), '7\n');
  });

  it('concurrent writers of one file never leave a torn file: the result is one of the writes', async () => {
    const file = join(dir, 'shared.txt');
    const bodies = Array.from({ length: 10 }, (_, i) => String(i).repeat(50_000));
    await Promise.all(bodies.map((body) => writeFileAtomic(file, body)));
    assert.ok(bodies.includes(await readFile(file, 'utf8')));
    assert.deepEqual(await readdir(dir), ['shared.txt']);
  });

  it('a failed rename keeps the old content and removes the temporary file', async () => {
    const target = join(dir, 'occupied');
    await mkdir(join(target, 'child'), { recursive: true }); // a non-empty folder cannot be renamed over
    await assert.rejects(writeFileAtomic(target, 'data'), (error: NodeJS.ErrnoException) =>
      ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(error.code ?? ''),
    );
    assert.deepEqual(await readdir(dir), ['occupied']);
  });

  it('fails on a missing folder without creating anything', async () => {
    await assert.rejects(writeFileAtomic(join(dir, 'missing', 'f'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('syncFile and syncDirectory', () => {
  it('fsync an existing file and folder, and fail on a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-sync-'));
    try {
      await writeFile(join(dir, 'f'), 'x');
      await syncFile(join(dir, 'f'));
      await syncDirectory(dir);
      await assert.rejects(syncFile(join(dir, 'nope')), { code: 'ENOENT' });
      await assert.rejects(syncDirectory(join(dir, 'nope')), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
