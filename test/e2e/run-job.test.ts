import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './cli.js';

interface Summary {
  runId: string;
  events: number;
  layers: { bronze: number; silver: number; duplicates: number; quarantined: number };
  produced: number;
  model: { version: string; sha256: string; auroc: number; bayesAuroc: number };
  latencyMs: { p50: number; p99: number };
  monitor: { predictions: number; labelled: number; auroc: number | null };
  lakeCommit: string;
  reconciliation: {
    in: number;
    bronze: number;
    balanced: boolean;
    bySite: Record<string, { bronze: number; balanced: boolean }>;
  };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Summary;

describe('vigil run (local preset, end to end)', () => {
  it('runs the main job, prints the summary, and a second run on the same workdir succeeds', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-e2e-'));
    const first = await runCli([
      'run',
      '--config',
      'test/e2e/fixtures/small.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('held-out AUROC');
    const s = lastJson(first.stdout);
    expect(s.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.events).toBeGreaterThan(10_000);
    expect(s.produced).toBe(s.events);
    expect(s.layers.bronze).toBe(s.events);
    expect(s.layers.bronze).toBe(s.layers.silver + s.layers.duplicates + s.layers.quarantined);
    expect(s.layers.quarantined).toBeGreaterThan(0);
    expect(s.reconciliation).toMatchObject({ in: s.events, bronze: s.events, balanced: true });
    const sites = Object.values(s.reconciliation.bySite);
    expect(sites.length).toBeGreaterThanOrEqual(3);
    expect(sites.every((c) => c.balanced)).toBe(true);
    expect(sites.reduce((a, c) => a + c.bronze, 0)).toBe(s.events);
    expect(s.model.version).toBe('1');
    expect(s.model.auroc).toBeGreaterThan(0.65);
    expect(s.model.auroc).toBeLessThanOrEqual(1);
    expect(s.latencyMs.p50).toBeGreaterThan(0);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
    expect(s.monitor.labelled).toBe(s.monitor.predictions);
    expect(s.lakeCommit).toMatch(/^[0-9a-f]{64}$/);
    const lineage = JSON.parse(await readFile(join(workdir, 'runs', s.runId, 'lineage.json'), 'utf8')) as {
      steps: { step: string }[];
    };
    const steps = lineage.steps.map((x) => x.step);
    const jobSteps = ['generate', 'ingest', 'medallion', 'features', 'register', 'serve'];
    expect(steps.filter((x) => jobSteps.includes(x))).toEqual(jobSteps);

    const second = await runCli([
      'run',
      '--config',
      'test/e2e/fixtures/small.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(second.code, second.stderr).toBe(0);
    const s2 = lastJson(second.stdout);
    expect(s2.model.version).toBe('2');
    expect(s2.runId).not.toBe(s.runId);
    // The trial is already in the source: nothing is sent twice, every layer reconciles the same,
    // and the same config and data give the same model bytes.
    expect(s2.produced).toBe(0);
    expect(s2.layers).toEqual(s.layers);
    expect(s2.model.sha256).toBe(s.model.sha256);
  }, 300_000);

  it('closes components in reverse order on SIGTERM and exits cleanly; the next run succeeds', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-sigterm-'));
    const child = spawnCli(['run', '--config', 'test/e2e/fixtures/small.yaml', '--workdir', workdir]);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never reached ingest\n${stderr}`)), 120_000);
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/ingest|✓ generate/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr).toMatch(/SIGTERM received/);
    const log = (await readFile(join(workdir, 'logs', 'vigil.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; component?: string; components?: string[] });
    const started = log.find((l) => l.msg === 'kernel started')!.components!;
    const closed = log.filter((l) => l.msg === 'closed').map((l) => l.component);
    expect(closed).toEqual([...started].reverse());
    expect(log.at(-1)!.msg).toBe('kernel closed');

    const rerun = await runCli([
      'run',
      '--config',
      'test/e2e/fixtures/small.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(rerun.code, rerun.stderr).toBe(0);
  });
});
