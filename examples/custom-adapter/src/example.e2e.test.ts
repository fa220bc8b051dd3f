/**
 * End to end: the `vigil` CLI, run from sources as a user would, loads this package
 * through the config's `modules:` and runs the main job with the memory source in place
 * of the preset's file log.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const config = 'examples/custom-adapter/vigil.yaml';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@vigil/source', '--import', 'tsx', `${repoRoot}cli/src/main.ts`, ...args],
      { cwd: repoRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vigil ${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const workdirs: string[] = [];
afterAll(async () => {
  for (const dir of workdirs) await rm(dir, { recursive: true, force: true });
});

describe('examples/custom-adapter through the CLI', () => {
  it('validate accepts the config that names the memory adapter', async () => {
    const result = await runCli(['validate', config]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/valid \(preset local/);
  });

  it('validate reports every problem in the memory adapter config with its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-memory-config-'));
    workdirs.push(dir);
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      [
        'version: 1',
        'preset: local',
        "modules: ['@acme/vigil-source-memory']",
        'ports:',
        '  source: { adapter: memory, config: { maxRecordsPerPartition: 0, dir: log } }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', bad, '--json']);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      issues: { path: string; message: string }[];
    };
    expect(report.issues).toEqual([
      { path: 'ports.source.config.maxRecordsPerPartition', message: expect.stringMatching(/>=\s*1/) },
      { path: 'ports.source.config', message: expect.stringContaining('"dir"') },
    ]);
  });

  it('run completes the main job on the memory source and never touches the file log', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-memory-e2e-'));
    workdirs.push(workdir);
    const result = await runCli(['run', '--config', config, '--workdir', workdir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      events: number;
      layers: { bronze: number };
      model: { version: string };
    };
    expect(summary.events).toBeGreaterThan(1_000);
    expect(summary.layers.bronze).toBe(summary.events);
    expect(summary.model.version).toBe('1');
    // The file-log adapter keeps its log under <workdir>/log; the memory source writes nothing.
    expect(existsSync(join(workdir, 'log'))).toBe(false);
    const log = (await readFile(join(workdir, 'logs', 'vigil.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; component?: string; port?: string });
    expect(log).toContainEqual(
      expect.objectContaining({ msg: 'started', port: 'source', component: 'memory' }),
    );
  });
});
