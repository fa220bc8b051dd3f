import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { LocalLakeStore } from '../local-lake-store.js';

const child = fileURLToPath(new URL('./concurrent-writer-child.ts', import.meta.url));
const tsxLoader = fileURLToPath(new URL('../../../../node_modules/tsx/dist/loader.mjs', import.meta.url));

it('two processes committing to one branch at once lose nothing (lock file serialises them)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vigil-lake-procs-'));
  try {
    await (await LocalLakeStore.open({ root, defaultBranch: 'main' })).close();
    const run = (label: string) =>
      promisify(execFile)(process.execPath, [
        '--conditions=@vigil/source',
        '--import',
        tsxLoader,
        child,
        root,
        label,
        '15',
      ]);
    const outputs = await Promise.all([run('a'), run('b')]);
    expect(outputs.map((o) => o.stdout)).toEqual(['DONE\n', 'DONE\n']);
    const lake = await LocalLakeStore.open({ root, defaultBranch: 'main' });
    try {
      const head = await lake.resolve('main');
      expect(await lake.list(head, 'a/')).toHaveLength(15);
      expect(await lake.list(head, 'b/')).toHaveLength(15);
      const log = await lake.log('main');
      expect(log).toHaveLength(31);
      for (let i = 0; i + 1 < log.length; i++) expect(log[i]!.parents).toEqual([log[i + 1]!.id]); // linear history
    } finally {
      await lake.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
