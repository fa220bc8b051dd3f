/**
 * Child process of transform-kill.test.ts: runs the adverse-event medallion the way
 * `runAdverseEventJob` does (bronze → commit → silver → commit → gold → commit → merge into
 * main) on a work branch of the local lake or of lakeFS.
 *
 *   node --conditions=@vigil/source --import tsx transform-kill-child.ts '<json args>'
 *
 * mode "kill": after the first silver object is staged the child prints `silver-writing` and
 * holds that write open, so the parent's SIGKILL lands mid-silver. mode "full": runs to the end
 * and prints one JSON line with the merge commit.
 */
import { join } from 'node:path';
import { lakefsLake } from '@vigil/adapter-lakefs';
import { localLake } from '@vigil/adapter-local-lake';
import { type ComponentContext, createLineageRecorder, createLogger, type LakeStore } from '@vigil/core';
import { type BronzeRecord, createMedallion, simulateTrial } from '@vigil/job-adverse-events';

export interface ChildArgs {
  backend: 'local' | 'lakefs';
  mode: 'kill' | 'full';
  branch: string;
  workdir: string;
  /** Local lake folder (backend local). */
  lakeDir?: string;
  /** lakeFS connection (backend lakefs). */
  lakefs?: { endpoint: string; repository: string; accessKeyId: string; secretAccessKey: string };
}

const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
const encoder = new TextEncoder();

function records(): BronzeRecord[] {
  const sim = simulateTrial({ seed: 11, patients: 12, days: 16, sites: 2 });
  const next = new Map<string, number>();
  return sim.events.map((e, i) => {
    const partition = Number(e.key.slice(-2)) - 1;
    const id = `${e.topic}/${partition}`;
    const offset = next.get(id) ?? 0;
    next.set(id, offset + 1);
    return {
      topic: e.topic,
      partition,
      offset: String(offset),
      key: e.key,
      value: encoder.encode(e.value),
      timestamp: Date.UTC(2026, 0, 5) + i,
    };
  });
}

/** In mode "kill", hold the first silver write open once it is staged and tell the parent. */
function holdFirstSilverWrite(lake: LakeStore): LakeStore {
  let held = false;
  return new Proxy(lake, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== 'put') return typeof value === 'function' ? value.bind(target) : value;
      return async (branch: string, path: string, data: Uint8Array) => {
        const info = await target.put(branch, path, data);
        if (!held && path.startsWith('silver/')) {
          held = true;
          process.stdout.write('silver-writing\n');
          await new Promise((resolve) => setTimeout(resolve, 120_000));
        }
        return info;
      };
    },
  });
}

// @vigil/core/testing loads vitest, so the child builds its small component context itself.
const ctx: ComponentContext = {
  runId: args.branch,
  workdir: args.workdir,
  seed: 11,
  logger: createLogger({ level: 'silent' }),
  lineage: createLineageRecorder(args.branch),
  signal: new AbortController().signal,
  emit: async () => undefined,
  port: () => {
    throw new Error('the kill-test child uses no other port');
  },
};
const opened =
  args.backend === 'local'
    ? await localLake.create(localLake.config.parse({ dir: args.lakeDir }), ctx)
    : await lakefsLake.create(lakefsLake.config.parse({ ...args.lakefs }), ctx);
const lake = args.mode === 'kill' ? holdFirstSilverWrite(opened) : opened;
const branch = args.branch;
await lake.createBranch(branch, lake.defaultBranch);
const medallion = await createMedallion({ lake, workdir: join(args.workdir, 'tmp', branch), threads: 1 });
try {
  const all = records();
  const half = Math.ceil(all.length / 2);
  for (const batch of [all.slice(0, half), all.slice(half)]) {
    await medallion.writeBronze(branch, batch);
    await lake.commit(branch, `bronze: ${batch.length} records`, { metadata: { runId: branch } });
  }
  process.stdout.write('bronze-committed\n');
  const silver = await medallion.buildSilver(branch);
  await lake.commit(branch, 'silver', { metadata: { runId: branch }, allowEmpty: true });
  const gold = await medallion.buildGold(branch);
  await lake.commit(branch, 'gold', { metadata: { runId: branch }, allowEmpty: true });
  const merged = await lake.merge(branch, lake.defaultBranch, { message: `run ${branch}` });
  await lake.deleteBranch(branch);
  process.stdout.write(
    `${JSON.stringify({ mergeCommit: merged.id, silver: silver.silver, patientDays: gold.patientDays })}\n`,
  );
} finally {
  await medallion.close();
  await lake.close();
}
