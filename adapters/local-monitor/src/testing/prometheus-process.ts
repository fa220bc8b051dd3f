/**
 * A Prometheus server of a test's own: Debian's `prometheus` (installed by
 * `bash scripts/services up prometheus`) started on a free 127.0.0.1 port with a config
 * written to a temp folder, stopped by its pid. Used by this package's tests only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Why no Prometheus can run here (undefined when one can); tests skip with this reason. */
export function prometheusUnavailable(): string | undefined {
  for (const tool of ['prometheus', 'promtool']) {
    const probe = spawnSync(tool, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.error || probe.status !== 0)
      return `Prometheus is not installed: cannot run ${tool} (${probe.error?.message ?? `exit ${probe.status}`}); run \`bash scripts/services up prometheus\``;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrometheusProcess {
  url: string;
  /** GET `path` (with query) from the server's HTTP API; returns the parsed `data`. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** Start prometheus with `config` (YAML text) in `dir`; resolves once /-/ready answers. */
export async function startPrometheus(dir: string, config: string): Promise<PrometheusProcess> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 30_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${log}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    async api<T>(path: string): Promise<T> {
      const response = await fetch(`${url}${path}`);
      const body = (await response.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
      return body.data;
    },
    stop,
  };
}
