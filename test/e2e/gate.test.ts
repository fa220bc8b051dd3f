import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

interface Model {
  version: string;
  auroc: number;
  ece: number;
  served: string | null;
  alias: string | null;
  gate: { decision: string; champion: string | null; challenger: string; delta: number | null };
}
const model = (stdout: string) => (JSON.parse(stdout.trim().split('\n').at(-1)!) as { model: Model }).model;

describe('champion/challenger gate, enforced (local preset)', () => {
  it('promotes a stronger challenger, refuses a weaker one and never serves it, and rolls back in seconds', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-gate-'));
    const run = async (fixture: string) => {
      const r = await runCli([
        'run',
        '--config',
        `test/e2e/fixtures/${fixture}`,
        '--workdir',
        workdir,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      return model(r.stdout);
    };
    const models = async (...args: string[]) => {
      const r = await runCli(['models', ...args, '--workdir', workdir, '--preset', 'local']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };

    const first = await run('small.yaml');
    expect(first.gate).toMatchObject({ decision: 'first', champion: null, challenger: '1' });
    expect(first.served).toBe('1');

    const stronger = await run('stumps-model.yaml');
    expect(stronger.gate.decision).toBe('promoted');
    expect(stronger.gate.champion).toBe('1');
    expect(stronger.gate.delta!).toBeGreaterThanOrEqual(0.02);
    // The delta is measured on the same held-out patients: it equals the difference of the two runs' test AUROCs.
    expect(stronger.gate.delta!).toBeCloseTo(stronger.auroc - first.auroc, 9);
    expect(stronger.served).toBe('2');

    const weaker = await run('weak-model.yaml');
    expect(weaker.gate.decision).toBe('refused');
    expect(weaker.gate.champion).toBe('2');
    expect(weaker.alias).toBeNull();
    expect(weaker.served).toBe('2');

    const listed = JSON.parse(await models('list', '--json')) as {
      versions: { version: string; aliases: string[]; gate: string; tags: Record<string, string> }[];
    };
    const byVersion = Object.fromEntries(listed.versions.map((v) => [v.version, v]));
    expect(byVersion['2']!.aliases).toEqual(['champion']);
    expect(byVersion['3']!.aliases).toEqual([]);
    expect(byVersion['3']!.gate).toBe('refused');
    expect(byVersion['3']!.tags['vigil.gate.reasons']).toMatch(/AUROC delta .* < margin 0.02/);
    expect(byVersion['2']!.tags['vigil.gate.comparison']).toBe('paired');

    // Rollback to the previous champion, then forward again: seconds, not minutes.
    const back = JSON.parse(await models('rollback', '--json')) as { from: string; to: string; ms: number };
    expect(back).toMatchObject({ from: '2', to: '1' });
    expect(back.ms).toBeLessThan(5000);
    const again = JSON.parse(await models('rollback', '--to', '2', '--json')) as { to: string; ms: number };
    expect(again.to).toBe('2');
    const refused = await runCli([
      'models',
      'rollback',
      '--to',
      '3',
      '--workdir',
      workdir,
      '--preset',
      'local',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not one of its last 5 champions/);
  }, 400_000);
});
