/**
 * Evidently itself as the reference for the drift module's test selection, column types
 * and scores: a pinned venv under ${VIGIL_CACHE:-~/.cache/vigil}/venvs/evidently
 * (created once, reused), a Python script run on a JSON payload, its JSON stdout returned.
 * pandas is pinned below 3: evidently 0.7.21 does not import with pandas 3.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const EVIDENTLY_VERSION = '0.7.21';
const PINS = [`evidently==${EVIDENTLY_VERSION}`, 'pandas==2.3.3', 'numpy==2.4.6', 'scipy==1.17.1'];
const venv = join(process.env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil'), 'venvs', 'evidently');
const python = join(venv, 'bin', 'python');

/** Makes sure the venv exists; returns a reason string when it cannot (pip cannot reach the index). */
export async function ensureEvidently(): Promise<string | undefined> {
  const ready = async () =>
    existsSync(python) &&
    (await run(python, [
      '-c',
      `import evidently, pandas; assert evidently.__version__ == '${EVIDENTLY_VERSION}'; from evidently import Report`,
    ]).then(
      () => true,
      () => false,
    ));
  if (await ready()) return undefined;
  const lock = `${venv}.lock`;
  await mkdir(join(venv, '..'), { recursive: true });
  const deadline = Date.now() + 900_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`evidently venv: ${lock} held for 15 min; remove it if stale`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (await ready()) return undefined;
    if (!existsSync(python)) await run('python3', ['-m', 'venv', venv]);
    try {
      await run(join(venv, 'bin', 'pip'), ['install', '--quiet', ...PINS], { timeout: 840_000 });
    } catch (error) {
      return `pip could not install ${PINS.join(' ')} into ${venv}: ${
        (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? String(error)
      }`;
    }
    return (await ready()) ? undefined : `evidently==${EVIDENTLY_VERSION} did not import from ${venv}`;
  } finally {
    await rmdir(lock);
  }
}

/** Run `script` with the venv's python on `payload` (argv[1] is the JSON file); returns its parsed stdout. */
export async function runEvidently<T>(script: string, payload: unknown): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-evidently-'));
  try {
    await writeFile(join(dir, 'payload.json'), JSON.stringify(payload));
    await writeFile(join(dir, 'reference.py'), script);
    const { stdout } = await run(python, [join(dir, 'reference.py'), join(dir, 'payload.json')], {
      maxBuffer: 64 << 20,
      timeout: 600_000,
    });
    return JSON.parse(stdout) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
