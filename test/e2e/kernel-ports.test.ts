import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './cli.js';

const SMALL = join(repoRoot, 'test/e2e/fixtures/small.yaml');
const LOCAL_PORTS = ['source', 'lake-store', 'feature-store', 'trainer', 'registry', 'server', 'monitor'];

/** The ports each kernel started, in start order, from the 'started' lines of <workdir>/logs/vigil.log, one entry per run id. */
async function startedPorts(workdir: string): Promise<string[][]> {
  const text = await readFile(join(workdir, 'logs', 'vigil.log'), 'utf8');
  const byRun = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { runId?: string; msg?: string; port?: string };
    if (entry.msg !== 'started' || !entry.runId || !entry.port) continue;
    if (!byRun.has(entry.runId)) byRun.set(entry.runId, []);
    byRun.get(entry.runId)!.push(entry.port);
  }
  return [...byRun.values()];
}

describe('the kernel starts only the ports a command needs (local preset)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-kernel-ports-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('vigil run starts all seven ports; features list the feature store (and the lake it requires); materialize the same', async () => {
    const workdir = join(dir, 'run');
    const run = await runCli(['run', '--config', SMALL, '--workdir', workdir, '--json'], {
      timeoutMs: 240_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const [afterRun] = await startedPorts(workdir);
    expect([...afterRun!].sort()).toEqual([...LOCAL_PORTS].sort());

    const list = await runCli(['features', 'list', '--config', SMALL, '--workdir', workdir, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const materialize = await runCli([
      'features',
      'materialize',
      ...['--config', SMALL, '--workdir', workdir, '--end', '2026-03-01T00:00:00Z', '--json'],
    ]);
    expect(materialize.code, materialize.stderr).toBe(0);
    const kernels = await startedPorts(workdir);
    expect(kernels).toHaveLength(3);
    // DuckDB's feature store requires the lake-store; nothing else starts.
    expect(kernels[1]).toEqual(['lake-store', 'feature-store']);
    expect(kernels[2]).toEqual(['lake-store', 'feature-store']);
  }, 300_000);

  it('vigil simulate --to source starts only the source; without --to no kernel starts', async () => {
    const workdir = join(dir, 'simulate');
    const trial = ['--patients', '20', '--days', '21', '--sites', '2'];
    const produced = await runCli(['simulate', ...trial, '--to', 'source', '--workdir', workdir]);
    expect(produced.code, produced.stderr).toBe(0);
    expect(await startedPorts(workdir)).toEqual([['source']]);

    const written = await runCli([
      'simulate',
      ...trial,
      '--out',
      join(dir, 'events.ndjson'),
      '--workdir',
      workdir,
    ]);
    expect(written.code, written.stderr).toBe(0);
    expect(await startedPorts(workdir)).toEqual([['source']]);
  });
});
