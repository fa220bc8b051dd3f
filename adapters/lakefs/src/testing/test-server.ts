/**
 * The lakeFS server the integration tests talk to: the one `scripts/services up lakefs`
 * starts, with the test-only admin credentials that script defines (same variables, same
 * defaults).
 */
export interface LakeFsTestServer {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function lakefsTestServer(env: NodeJS.ProcessEnv = process.env): LakeFsTestServer {
  return {
    endpoint: env.VIGIL_LAKEFS_ENDPOINT ?? `http://127.0.0.1:${env.VIGIL_LAKEFS_PORT ?? '8000'}`,
    accessKeyId: env.VIGIL_LAKEFS_ACCESS_KEY_ID ?? 'AKIAIOSFODNN7VIGILTEST',
    secretAccessKey: env.VIGIL_LAKEFS_SECRET_ACCESS_KEY ?? 'vigil-lakefs-test-secret-key-not-for-production',
  };
}

/**
 * A storage namespace for a test repository: under VIGIL_LAKEFS_STORAGE_NAMESPACE, by default
 * `s3://vigil-lakefs` — the MinIO bucket `scripts/services up lakefs` keeps lakeFS's objects in
 * (lakeFS's S3 blockstore refuses `local://` namespaces).
 */
export function lakefsTestNamespace(path: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = (env.VIGIL_LAKEFS_STORAGE_NAMESPACE ?? 's3://vigil-lakefs').replace(/\/+$/, '');
  return `${root}/${path.replace(/^\/+/, '')}`;
}

/** The test server, once its health check answers; a clear error naming the command to start it otherwise. */
export async function requireLakeFs(env: NodeJS.ProcessEnv = process.env): Promise<LakeFsTestServer> {
  const server = lakefsTestServer(env);
  const url = `${server.endpoint}/api/v1/healthcheck`;
  let problem: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (response.status === 204 || response.ok) return server;
    problem = `answered ${response.status}`;
  } catch (error) {
    problem = (error as Error).message;
  }
  throw new Error(
    `lakeFS is not reachable at ${server.endpoint} (${url}: ${problem}). Start it with: bash scripts/services up lakefs`,
  );
}
