import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './cli.js';

/** One OIP request with every feature missing; the answer names the version that served it. */
async function servedVersion(url: string, features: number): Promise<string> {
  const response = await fetch(`${url}/v2/models/adverse-event/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'input', shape: [1, features], datatype: 'FP32', data: Array(features).fill(null) }],
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { model_version: string }).model_version;
}

async function until(what: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('vigil serve', () => {
  it('serves the champion, follows a promotion and a rollback without a restart, and drains on SIGTERM', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-serve-'));
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
    };
    await run('small.yaml');
    const server = startCli([
      'serve',
      '--config',
      'test/e2e/fixtures/small.yaml',
      '--workdir',
      workdir,
      '--port',
      '0',
      '--poll-ms',
      '300',
    ]);
    try {
      const url = await server.url(/at (http:\/\/[^\s]+)/, 60_000);
      // The small fixture's model reads the job's built-in daily features and the profile's
      // age, treated and female.
      const d = 37;
      expect(await servedVersion(url, d)).toBe('1');

      await run('stumps-model.yaml'); // promoted: v2 becomes champion
      await until(async () => (await servedVersion(url, d)) === '2', 15_000);

      const back = await runCli(['models', 'rollback', '--workdir', workdir, '--preset', 'local']);
      expect(back.code, back.stderr).toBe(0);
      await until(async () => (await servedVersion(url, d)) === '1', 15_000);
      expect(server.output().stderr).toMatch(/now serving adverse-event@champion = v2 \(was v1\)/);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  }, 300_000);
});
