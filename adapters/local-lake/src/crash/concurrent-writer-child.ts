/**
 * Child process of the cross-process test: opens the lake at argv[2] and makes argv[4]
 * commits on `main`, each staging one path named after argv[3]. Staging is per branch, shared
 * by both processes (as on lakeFS): one process's commit may take the other's staged path,
 * leaving it nothing of its own to commit — hence `allowEmpty`.
 */
import { LocalLakeStore } from '../local-lake-store.js';

const [root, label, countArg = '10'] = process.argv.slice(2);
if (!root || !label) throw new Error('usage: concurrent-writer-child <lake root> <label> [commits]');
const lake = await LocalLakeStore.open({ root, defaultBranch: 'main' });
for (let i = 0; i < Number(countArg); i++) {
  await lake.put('main', `${label}/${i}`, new TextEncoder().encode(`${label}-${i}`));
  await lake.commit('main', `${label} ${i}`, { allowEmpty: true });
}
await lake.close();
process.stdout.write('DONE\n');
