import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NdjsonJournal } from './journal.js';

const dirs: string[] = [];
const journals: NdjsonJournal[] = [];
afterEach(async () => {
  for (const j of journals.splice(0)) await j.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function openTwo() {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-journal-'));
  dirs.push(dir);
  const path = join(dir, 'j.ndjson');
  const a = new NdjsonJournal(path);
  const b = new NdjsonJournal(path);
  await a.open();
  await b.open();
  journals.push(a, b);
  return { a, b, path };
}

describe('ndjson journal', () => {
  it('does not read back its own appends, and reads every other writer’s lines', async () => {
    const { a, b } = await openTwo();
    await a.append([{ n: 1 }, { n: 2 }]);
    expect(await a.readNew()).toEqual({ values: [], corrupt: 0 });
    expect(await b.readNew()).toEqual({ values: [{ n: 1 }, { n: 2 }], corrupt: 0 });
    await b.append([{ n: 3 }]);
    expect(await a.readNew()).toEqual({ values: [{ n: 3 }], corrupt: 0 });
    expect(await b.readNew()).toEqual({ values: [], corrupt: 0 });
  });

  it('reads its own lines back when another writer’s lines came before them', async () => {
    const { a, b, path } = await openTwo();
    await b.append([{ from: 'b' }]);
    await a.append([{ from: 'a' }]);
    expect((await a.readNew()).values).toEqual([{ from: 'b' }, { from: 'a' }]);
    // Another process writing (not through a journal) also counts.
    await appendFile(path, '{"from":"elsewhere"}\n');
    await a.append([{ from: 'a2' }]);
    expect((await a.readNew()).values).toEqual([{ from: 'elsewhere' }, { from: 'a2' }]);
    expect((await b.readNew()).values).toEqual([{ from: 'a' }, { from: 'elsewhere' }, { from: 'a2' }]);
  });
});
