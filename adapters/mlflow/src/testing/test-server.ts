import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The MLflow server the integration tests talk to: the one `scripts/services up mlflow` starts
 * (same variables, same defaults), and the venv it runs from, whose `python` has MLflow's own
 * client for the interop tests.
 */
export interface MlflowTestServer {
  trackingUri: string;
  /** The service venv's python (with `mlflow` importable). */
  python: string;
}

export function mlflowTestServer(env: NodeJS.ProcessEnv = process.env): MlflowTestServer {
  const cache = env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil');
  return {
    trackingUri: env.VIGIL_MLFLOW_TRACKING_URI ?? `http://127.0.0.1:${env.VIGIL_MLFLOW_PORT ?? '5000'}`,
    python: env.VIGIL_MLFLOW_PYTHON_BIN ?? join(cache, 'mlflow', 'venv', 'bin', 'python'),
  };
}

/** The test server, once `/health` answers OK; a clear error naming the command to start it otherwise. */
export async function requireMlflow(env: NodeJS.ProcessEnv = process.env): Promise<MlflowTestServer> {
  const server = mlflowTestServer(env);
  const url = `${server.trackingUri}/health`;
  let problem: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = await response.text();
    if (response.ok && body.trim() === 'OK') return server;
    problem = `answered ${response.status} ${body.slice(0, 80)}`;
  } catch (error) {
    problem = (error as Error).message;
  }
  throw new Error(
    `MLflow is not reachable at ${server.trackingUri} (${url}: ${problem}). Start it with: bash scripts/services up mlflow`,
  );
}
