/**
 * Parent side of the ingest fault tests: start `ingest-child.ts` (the shipped ingest path in
 * its own process), follow its progress, kill it, and count what bronze holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LakeStore } from '@vigil/core';
import type { FaultPoint } from '@vigil/job-adverse-events';
import { expect } from 'vitest';
import type { IngestChildArgs } from './ingest-child.js';

const childFile = fileURLToPath(new URL('./ingest-child.ts', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface DoneResult {
  consumed: number;
  batches: number;
  commits: number;
  bronzeRows: number;
  redelivered: number;
  recovered: { files: number; rows: number };
  sourceRecords: number;
}

export interface Child {
  proc: ChildProcess;
  /** Resolves once the child has committed `batches` more batches after this call. */
  batches(batches: number, timeoutMs: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** The IngestResult the child printed at its end, if it got there. */
  done(): DoneResult | undefined;
}

/** Start a child; `killAt` sets VIGIL_FAULT_KILL_AT (the product's own kill-point hook). */
export function startChild(args: IngestChildArgs, killAt?: `${FaultPoint}:${number}`): Child {
  const env = { ...process.env };
  delete env.VIGIL_FAULT_KILL_AT;
  if (killAt) env.VIGIL_FAULT_KILL_AT = killAt;
  const proc = spawn(
    process.execPath,
    ['--conditions=@vigil/source', '--import', 'tsx', childFile, JSON.stringify(args)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let out = '';
  let commits = 0;
  let done: DoneResult | undefined;
  const listeners = new Set<() => void>();
  proc.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    commits = 0;
    for (const line of out.split('\n')) {
      if (line.startsWith('{"consumed"')) commits++;
      else if (line.startsWith('{"done"')) done = (JSON.parse(line) as { done: DoneResult }).done;
    }
    for (const l of listeners) l();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    output: () => out.slice(-4000),
    done: () => done,
    exited,
    batches(more, timeoutMs) {
      const target = commits + more;
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (commits >= target) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `child committed ${commits}/${target} batches in ${timeoutMs} ms:\n${out.slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        void exited.then(({ code, signal }) => {
          if (commits < target) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `child exited (${code ?? signal}) after ${commits}/${target} batches:\n${out.slice(-3000)}`,
              ),
            );
          }
        });
        check();
      });
    },
  };
}

export async function sigkill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  const { signal } = await child.exited;
  expect(signal, child.output()).toBe('SIGKILL');
}

/** A child started with a kill point must die of it (its own SIGKILL), not finish or crash. */
export async function diesAtKillPoint(child: Child): Promise<void> {
  const exit = await child.exited;
  expect(exit, child.output()).toEqual({ code: null, signal: 'SIGKILL' });
}

/** A child that must drain everything and exit cleanly; returns its IngestResult. */
export async function finishes(child: Child): Promise<DoneResult> {
  const exit = await child.exited;
  expect(exit, child.output()).toEqual({ code: 0, signal: null });
  const done = child.done();
  expect(done, child.output()).toBeDefined();
  return done!;
}

/** Rows in bronze at `ref`, distinct (topic, partition, offset) keys and distinct payloads. */
export async function bronzeCounts(
  lake: LakeStore,
  ref: string,
  scratch: string,
): Promise<{ rows: number; keys: number; payloads: number; staged: number }> {
  const objects = (await lake.list(ref, 'bronze/')).filter((o) => o.path.endsWith('.parquet'));
  const head = await lake.resolve(ref);
  const committed = new Set((await lake.list(head, 'bronze/')).map((o) => `${o.path}\u0000${o.checksum}`));
  const staged = objects.filter((o) => !committed.has(`${o.path}\u0000${o.checksum}`)).length;
  await mkdir(scratch, { recursive: true });
  const files: string[] = [];
  for (const [i, o] of objects.entries()) {
    const file = join(scratch, `${i}.parquet`);
    await writeFile(file, (await lake.get(ref, o.path))!);
    files.push(file);
  }
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  try {
    const conn = await db.connect();
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
    const [row] = (
      await conn.runAndReadAll(
        `SELECT count(*) AS n, count(DISTINCT (topic, "partition", "offset")) AS keys, count(DISTINCT payload) AS payloads
         FROM read_parquet([${list}], union_by_name = true)`,
      )
    ).getRowObjectsJS() as { n: bigint; keys: bigint; payloads: bigint }[];
    conn.closeSync();
    return { rows: Number(row?.n), keys: Number(row?.keys), payloads: Number(row?.payloads), staged };
  } finally {
    db.closeSync();
    await rm(scratch, { recursive: true, force: true });
  }
}
