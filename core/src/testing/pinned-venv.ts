/**
 * A pinned Python environment as an independent reference for tests: a venv under
 * ${VIGIL_CACHE:-~/.cache/vigil}/venvs/<name>, created once (a lock directory keeps parallel test
 * files from installing twice) and reused; a Python script run on a JSON payload, its JSON stdout
 * returned.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PinnedVenvSpec {
  /** Folder name under venvs/. */
  name: string;
  /** pip requirement strings, each pinned. */
  pins: string[];
  /** Python that exits 0 when the venv holds what is wanted (imports, version asserts). */
  check: string;
  /** How long pip may take (ms). */
  installTimeoutMs: number;
  /** How long a script may run (ms); none by default. */
  runTimeoutMs?: number;
}

export interface PinnedVenv {
  /** The venv's python. */
  readonly python: string;
  /** Makes sure the venv exists; returns a reason string when it cannot (pip cannot reach the index). */
  ensure(): Promise<string | undefined>;
  /** Run `script` with the venv's python on `payload` (argv[1] is the JSON file); returns its parsed stdout. */
  run<T>(script: string, payload: unknown): Promise<T>;
}

/** A `check` that holds when every `name==version` pin is installed at exactly that version. */
export function pinsCheck(pins: readonly string[]): string {
  const wanted = Object.fromEntries(pins.map((pin) => pin.split('==') as [string, string]));
  return `import importlib.metadata as m; w = ${JSON.stringify(wanted)}; assert all(m.version(k) == v for k, v in w.items())`;
}

export function pinnedVenv(spec: PinnedVenvSpec): PinnedVenv {
  const venv = join(process.env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil'), 'venvs', spec.name);
  const python = join(venv, 'bin', 'python');
  const ready = async () =>
    existsSync(python) &&
    (await run(python, ['-c', spec.check]).then(
      () => true,
      () => false,
    ));
  return {
    python,
    async ensure() {
      if (await ready()) return undefined;
      const lock = `${venv}.lock`;
      await mkdir(join(venv, '..'), { recursive: true });
      const deadline = Date.now() + spec.installTimeoutMs + 60_000;
      for (;;) {
        try {
          await mkdir(lock);
          break;
        } catch {
          if (Date.now() > deadline)
            throw new Error(`${spec.name} venv: ${lock} is held; remove it if stale`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      try {
        if (await ready()) return undefined;
        if (!existsSync(python)) await run('python3', ['-m', 'venv', venv]);
        try {
          await run(join(venv, 'bin', 'pip'), ['install', '--quiet', ...spec.pins], {
            timeout: spec.installTimeoutMs,
          });
        } catch (error) {
          return `pip could not install ${spec.pins.join(' ')} into ${venv}: ${
            (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? String(error)
          }`;
        }
        return (await ready()) ? undefined : `${spec.pins.join(' ')} did not import from ${venv}`;
      } finally {
        await rmdir(lock);
      }
    },
    async run<T>(script: string, payload: unknown): Promise<T> {
      const dir = await mkdtemp(join(tmpdir(), `vigil-${spec.name}-`));
      try {
        await writeFile(join(dir, 'payload.json'), JSON.stringify(payload));
        await writeFile(join(dir, 'script.py'), script);
        const { stdout } = await run(python, [join(dir, 'script.py'), join(dir, 'payload.json')], {
          maxBuffer: 64 << 20,
          ...(spec.runTimeoutMs ? { timeout: spec.runTimeoutMs } : {}),
        });
        return JSON.parse(stdout) as T;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A benchmark peer's venv: exactly `pins`, every pinned version checked, up to 15 minutes to install. */
export function peerVenv(name: string, pins: string[]): PinnedVenv {
  return pinnedVenv({ name, pins, check: pinsCheck(pins), installTimeoutMs: 900_000 });
}
