import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { GroupOffsets, groupFileName } from './group-offsets.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigil-group-offsets-'));
  await mkdir(join(root, 'groups'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('GroupOffsets', () => {
  it('names files safely and readably', () => {
    assert.equal(groupFileName('scorer-v2_a'), 'scorer-v2_a.json');
    assert.equal(groupFileName('../x'), '%2E%2E%2Fx.json');
    assert.equal(groupFileName('é'), '%C3%A9.json');
  });

  it('commits durably (atomic replace, no temp files left) and reloads', async () => {
    const g = await GroupOffsets.load(root, 'g/1');
    assert.equal(g.get('t', 0), undefined);
    await Promise.all([
      g.commit([{ topic: 't', partition: 0, offset: 5 }]),
      g.commit([{ topic: 't', partition: 1, offset: 7 }]),
      g.commit([{ topic: 't', partition: 0, offset: 6 }]),
    ]);
    assert.equal(g.get('t', 0), 6);
    assert.deepEqual(await readdir(join(root, 'groups')), ['g%2F1.json']);
    const file = JSON.parse(await readFile(join(root, 'groups', 'g%2F1.json'), 'utf8'));
    assert.deepEqual(file, { version: 1, group: 'g/1', offsets: { t: { '0': '6', '1': '7' } } });
    const again = await GroupOffsets.load(root, 'g/1');
    assert.equal(again.get('t', 0), 6);
    assert.equal(again.get('t', 1), 7);
  });
});
