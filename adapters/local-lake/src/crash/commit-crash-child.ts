/**
 * Child process of the crash test: opens the lake at argv[2] and commits `main`, pausing
 * at the fault point argv[3] until the parent kills it with SIGKILL:
 * - `sync`: while fsyncing the staged objects (after argv[4] of them);
 * - `ref`: with every object written, just before the rename that moves the branch;
 * - `after-ref`: just after that rename, before the staging is cleared;
 * - `none`: no fault; prints the commit id.
 * The fault points are found by wrapping `node:fs/promises` (open, rename) in this process only.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { sep } from 'node:path';
import { LocalLakeStore } from '../local-lake-store.js';

const [root, point = 'none', afterArg = '100'] = process.argv.slice(2);
if (!root) throw new Error('usage: commit-crash-child <lake root> <sync|ref|after-ref|none> [n]');

const fsPromises = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
const objectsDir = `${root}${sep}objects${sep}`;
const refsDir = `${root}${sep}refs${sep}heads${sep}`;

/** Tell the parent we reached the fault point, then wait to be killed. */
function pause(): Promise<never> {
  process.stdout.write('PAUSED\n');
  setTimeout(() => process.exit(3), 20_000); // the parent failed to kill us
  return new Promise<never>(() => {});
}

let committing = false;
if (point === 'sync') {
  const open = fsPromises.open;
  let syncs = 0;
  fsPromises.open = (async (...args: Parameters<typeof open>) => {
    const [file, flags] = args;
    if (committing && flags === 'r' && String(file).startsWith(objectsDir) && ++syncs > Number(afterArg))
      await pause();
    return open(...args);
  }) as typeof open;
}
if (point === 'ref' || point === 'after-ref') {
  const rename = fsPromises.rename;
  fsPromises.rename = async (from, to) => {
    const moving = committing && String(to).startsWith(refsDir);
    if (moving && point === 'ref') await pause();
    await rename(from, to);
    if (moving) await pause();
  };
}
syncBuiltinESMExports();

const lake = await LocalLakeStore.open({ root, defaultBranch: 'main' });
committing = true;
const commit = await lake.commit('main', 'large commit');
committing = false;
await lake.close();
process.stdout.write(`COMMITTED ${commit.id}\n`);
