import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

describe('vigil validate', () => {
  it('reports all three mistakes with their paths and exits non-zero', async () => {
    const result = await runCli(['validate', 'test/e2e/fixtures/three-mistakes.yaml', '--json']);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      valid: boolean;
      issues: { path: string; message: string }[];
    };
    expect(report.valid).toBe(false);
    expect(report.issues.map((i) => i.path).sort()).toEqual([
      'job.trial.patients',
      'ports.trainer.adapter',
      'seed',
    ]);
    const unknown = report.issues.find((i) => i.path === 'ports.trainer.adapter')!;
    expect(unknown.message).toContain("unknown adapter 'gpu-cluster'");
    expect(unknown.message).toContain('node');
  }, 120_000);

  it('accepts the small fixture and prints the human report otherwise', async () => {
    const ok = await runCli(['validate', 'test/e2e/fixtures/small.yaml']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/valid/);
    const bad = await runCli(['validate', 'test/e2e/fixtures/three-mistakes.yaml']);
    expect(bad.stdout).toMatch(/3 problem\(s\)/);
    expect(bad.stdout).toMatch(/seed: /);
  }, 120_000);

  it('lists presets, adapters and the JSON Schema', async () => {
    const presets = JSON.parse((await runCli(['presets', '--json'])).stdout) as { name: string }[];
    expect(presets.map((p) => p.name)).toContain('local');
    const adapters = JSON.parse((await runCli(['adapters', '--json'])).stdout) as {
      port: string;
      name: string;
    }[];
    expect(new Set(adapters.map((a) => a.port)).size).toBe(7);
    const schema = JSON.parse((await runCli(['schema'])).stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['version', 'ports', 'job', 'seed']),
    );
  });
});
