/**
 * Acceptance: "A transform killed mid-write leaves main's last commit unchanged; the rerun
 * succeeds." The job's medallion runs in a child process on a work branch (as
 * runAdverseEventJob does), is SIGKILLed while silver objects are being staged, and then
 * runs again to a merge into main — on the local lake and on lakeFS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakeFsClient, lakefsLake } from '@vigil/adapter-lakefs';
import { requireLakeFs } from '@vigil/adapter-lakefs/testing';
import { localLake } from '@vigil/adapter-local-lake';
import type { LakeStore } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChildArgs } from './transform-kill-child.js';

const child = fileURLToPath(new URL('./transform-kill-child.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const encoder = new TextEncoder();

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start the child; resolve `waitFor(line)` when it prints the line, `done` when it exits. */
function start(args: ChildArgs): {
  proc: ChildProcess;
  waitFor(line: string): Promise<void>;
  done: Promise<Finished>;
} {
  const proc = spawn(
    process.execPath,
    ['--conditions=@vigil/source', '--import', 'tsx', child, JSON.stringify(args)],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  proc.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const w of waiters) if (stdout.split('\n').includes(w.line)) w.resolve();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Finished>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    proc,
    done,
    waitFor: (line) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ line, resolve });
        void done.then((f) =>
          reject(
            new Error(`child exited (${f.code ?? f.signal}) before '${line}':\n${f.stdout}\n${f.stderr}`),
          ),
        );
      }),
  };
}

async function killMidSilverThenRerun(
  open: () => Promise<LakeStore>,
  args: Omit<ChildArgs, 'mode' | 'branch'>,
): Promise<void> {
  // main has a known last commit before the job starts.
  let lake = await open();
  await lake.put(lake.defaultBranch, 'README.txt', encoder.encode('lake of the kill test\n'));
  const before = (await lake.commit(lake.defaultBranch, 'before the job')).id;
  await lake.close();

  const killed = start({ ...args, mode: 'kill', branch: 'job-killed' });
  await killed.waitFor('silver-writing');
  killed.proc.kill('SIGKILL');
  const end = await killed.done;
  expect(end.signal, end.stderr).toBe('SIGKILL');
  expect(end.stdout).toContain('bronze-committed');

  lake = await open();
  try {
    // The kill landed mid-silver: silver objects are staged on the work branch, none committed.
    expect((await lake.list('job-killed', 'silver/')).length).toBeGreaterThan(0);
    expect(await lake.list(await lake.resolve('job-killed'), 'silver/')).toEqual([]);
    // main's last commit is unchanged and main holds nothing of the run.
    expect(await lake.resolve(lake.defaultBranch)).toBe(before);
    expect((await lake.log(lake.defaultBranch, { limit: 1 }))[0]?.id).toBe(before);
    expect((await lake.list(lake.defaultBranch)).map((o) => o.path)).toEqual(['README.txt']);
  } finally {
    await lake.close();
  }

  const rerun = start({ ...args, mode: 'full', branch: 'job-rerun' });
  const result = await rerun.done;
  expect(result.code, result.stderr).toBe(0);
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
    mergeCommit: string;
    silver: number;
    patientDays: number;
  };
  expect(summary.silver).toBeGreaterThan(0);
  expect(summary.patientDays).toBeGreaterThan(0);

  lake = await open();
  try {
    expect(await lake.resolve(lake.defaultBranch)).toBe(summary.mergeCommit);
    expect((await lake.log(lake.defaultBranch)).map((c) => c.id)).toContain(before);
    expect((await lake.list(lake.defaultBranch, 'silver/')).length).toBeGreaterThan(0);
    expect((await lake.list(lake.defaultBranch, 'gold/')).length).toBeGreaterThan(0);
    expect(await lake.diff(before, lake.defaultBranch)).not.toEqual([]);
    await lake.deleteBranch('job-killed');
  } finally {
    await lake.close();
  }
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('a transform killed mid-write leaves main unchanged; the rerun succeeds', () => {
  it('on the local lake', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-kill-local-'));
    dirs.push(dir);
    const lakeDir = join(dir, 'lake');
    const ctx = await createTestContext({ workdir: dir });
    await killMidSilverThenRerun(() => localLake.create(localLake.config.parse({ dir: lakeDir }), ctx), {
      backend: 'local',
      workdir: dir,
      lakeDir,
    });
  }, 90_000);

  it('on lakeFS', async () => {
    const server = await requireLakeFs(); // names `bash scripts/services up lakefs` when lakeFS is down
    const dir = await mkdtemp(join(tmpdir(), 'vigil-kill-lakefs-'));
    dirs.push(dir);
    const repository = `vigil-kill-${process.pid}-${Date.now().toString(36)}`;
    const ctx = await createTestContext({ workdir: dir });
    const config = lakefsLake.config.parse({
      ...server,
      repository,
      createRepository: true,
      storageNamespace: `s3://vigil-lakefs/vigil-faults/${repository}`,
    });
    try {
      await killMidSilverThenRerun(() => lakefsLake.create(config, ctx), {
        backend: 'lakefs',
        workdir: dir,
        lakefs: { ...server, repository },
      });
    } finally {
      await new LakeFsClient(server)
        .send('DELETE', `/repositories/${repository}`, { query: { force: true } })
        .catch(() => undefined);
    }
  }, 90_000);
});
