import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

describe('vigil run on the defaults (the README command)', () => {
  it('reaches a held-out AUROC of at least 0.75 on patients never seen in training', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-default-'));
    const result = await runCli(['run', '--workdir', workdir, '--json'], { timeoutMs: 600_000 });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      model: { auroc: number; bayesAuroc: number; testPatients: number; alias: string | null };
    };
    expect(summary.model.testPatients).toBeGreaterThanOrEqual(200);
    expect(summary.model.auroc).toBeGreaterThanOrEqual(0.75);
    expect(summary.model.auroc).toBeLessThan(summary.model.bayesAuroc);
    expect(summary.model.alias).toBe('champion');
  }, 600_000);
});
