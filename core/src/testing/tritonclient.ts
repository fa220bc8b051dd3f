/**
 * NVIDIA's tritonclient[http], the standard Open Inference Protocol client, as an
 * independent caller of our servers in tests: a pinned venv under
 * ${VIGIL_CACHE:-~/.cache/vigil}/venvs/tritonclient (created once, reused), a Python
 * script run on a JSON payload, its JSON stdout returned.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const TRITONCLIENT_VERSION = '2.73.0';
const NUMPY_VERSION = '2.4.6';
const venv = join(process.env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil'), 'venvs', 'tritonclient');
const python = join(venv, 'bin', 'python');

/** Makes sure the venv exists; returns a reason string when it cannot (pip cannot reach the index). */
export async function ensureTritonclient(): Promise<string | undefined> {
  const ready = async () =>
    existsSync(python) &&
    (await run(python, [
      '-c',
      `import tritonclient.http, numpy; from importlib.metadata import version; assert version('tritonclient') == '${TRITONCLIENT_VERSION}'`,
    ]).then(
      () => true,
      () => false,
    ));
  if (await ready()) return undefined;
  const lock = `${venv}.lock`;
  await mkdir(join(venv, '..'), { recursive: true });
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`tritonclient venv: ${lock} held for 10 min; remove it if stale`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (await ready()) return undefined;
    if (!existsSync(python)) await run('python3', ['-m', 'venv', venv]);
    try {
      await run(
        join(venv, 'bin', 'pip'),
        ['install', '--quiet', `tritonclient[http]==${TRITONCLIENT_VERSION}`, `numpy==${NUMPY_VERSION}`],
        { timeout: 540_000 },
      );
    } catch (error) {
      return `pip could not install tritonclient[http]==${TRITONCLIENT_VERSION} into ${venv}: ${
        (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? String(error)
      }`;
    }
    return (await ready())
      ? undefined
      : `tritonclient[http]==${TRITONCLIENT_VERSION} did not import from ${venv}`;
  } finally {
    await rmdir(lock);
  }
}

/** Run `script` with the venv's python on `payload` (argv[1] is the JSON file); returns its parsed stdout. */
export async function runTritonclient<T>(script: string, payload: unknown): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-tritonclient-'));
  try {
    await writeFile(join(dir, 'payload.json'), JSON.stringify(payload));
    await writeFile(join(dir, 'client.py'), script);
    const { stdout } = await run(python, [join(dir, 'client.py'), join(dir, 'payload.json')], {
      maxBuffer: 64 << 20,
    });
    return JSON.parse(stdout) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
