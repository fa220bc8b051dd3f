import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

describe('vigil run on the defaults (the README command)', () => {
  it('trains the stacked ensemble to within 0.03 of the present-state ceiling on held-out patients, ECE ≤ 0.05', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-default-'));
    const result = await runCli(['run', '--workdir', workdir, '--json'], { timeoutMs: 1_200_000 });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      model: {
        algorithm: string;
        auroc: number;
        ece: number;
        ceiling: number;
        bayesAuroc: number;
        testPatients: number;
        alias: string | null;
        cv: { folds: number; aurocMean: number; aurocSd: number };
        gate: { decision: string };
      };
      online: { patients: number; scored: number };
    };
    const m = summary.model;
    expect(m.algorithm).toBe('ensemble');
    expect(m.testPatients).toBeGreaterThanOrEqual(200);
    // The ceiling is the present-state oracle on the same test patients (simulator ground truth).
    expect(m.ceiling).toBeLessThan(m.bayesAuroc);
    expect(m.auroc).toBeLessThan(m.ceiling);
    expect(m.auroc).toBeGreaterThanOrEqual(m.ceiling - 0.03);
    expect(m.ece).toBeLessThanOrEqual(0.05);
    expect(m.cv.folds).toBe(3);
    expect(m.cv.aurocMean).toBeGreaterThan(0.75);
    expect(m.gate.decision).toBe('first');
    expect(m.alias).toBe('champion');
    // The sequence model is scored online for every held-out patient.
    expect(summary.online.scored).toBe(summary.online.patients);
  }, 1_200_000);
});
