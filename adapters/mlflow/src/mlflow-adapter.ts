import { defaultRegistryCapabilities, defineAdapter, type RegistryCapabilities } from '@vigil/core';
import { z } from 'zod';

/**
 * Artifacts live in the server's proxied artifact store. `searchRuns` takes no filters through
 * the port (MLflow's own search could filter, but the port has no filter argument to pass).
 */
const capabilities: RegistryCapabilities = {
  ...defaultRegistryCapabilities,
  artifacts: true,
  runFilters: false,
};

/**
 * Registry over an MLflow tracking server and model registry, through its REST API 2.0
 * (`fetch`, no SDK): experiments, runs, params, metric histories, proxied artifacts, registered
 * models, versions, tags and aliases. MLflow's own clients read what it writes.
 */
export const mlflowRegistry = defineAdapter({
  port: 'registry',
  name: 'mlflow',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'MLflow tracking server and model registry (REST API 2.0): runs, params, metrics, proxied artifacts, model versions, aliases.',
  config: z.strictObject({
    trackingUri: z
      .url({ protocol: /^https?$/ })
      .describe(
        'Base URL of the MLflow tracking server, e.g. http://127.0.0.1:5000. The server must run with --serve-artifacts (proxied artifacts).',
      ),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Timeout of one REST request (artifact uploads included), in ms.'),
    attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(4)
      .describe('Attempts for answers the server asks to retry (429, 503), with exponential back-off.'),
  }),
  capabilities,
  async create(config) {
    const [{ MlflowClient }, { MlflowRegistry }] = await Promise.all([
      import('./client/mlflow-client.js'),
      import('./mlflow-registry.js'),
    ]);
    return new MlflowRegistry({
      client: new MlflowClient({
        trackingUri: config.trackingUri,
        timeoutMs: config.timeoutMs,
        attempts: config.attempts,
      }),
      capabilities,
    });
  },
});
