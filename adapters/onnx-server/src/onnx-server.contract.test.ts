import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import type { ModelArtifact, Server } from '@vigil/core';
import {
  checkContract,
  createTestContext,
  describeContract,
  type ServerFixture,
  serverContract,
} from '@vigil/core/testing';
import { expect, it } from 'vitest';
import { onnxServer } from './index.js';

const featureNames = ['hr_var_24h', 'hr_baseline_dev', 'alt_rate_7d', 'dose_x_alt'];

/** Two logistic regressions over the same four features with different weights. */
export const contractArtifacts: [ModelArtifact, ModelArtifact] = [
  logisticRegressionOnnx({ weights: [0.8, -0.4, 1.2, 0.3], bias: -0.2, featureNames }),
  logisticRegressionOnnx({ weights: [-0.5, 0.9, 0.1, -1.1], bias: 0.4, featureNames }),
];

async function fixture(wrap: (server: Server) => Server = (s) => s): Promise<ServerFixture> {
  const ctx = await createTestContext({ seed: 7 });
  const server = await onnxServer.create(onnxServer.config.parse({}), ctx);
  return {
    impl: wrap(server),
    artifacts: contractArtifacts,
    async cleanup() {
      await server.close();
      await ctx.cleanup();
    },
  };
}

/** The server with some methods replaced (each other method delegates to it). */
function withOverrides(server: Server, overrides: Partial<Server>): Server {
  return {
    capabilities: server.capabilities,
    load: (model) => server.load(model),
    unload: (name, version) => server.unload(name, version),
    route: (name, spec) => server.route(name, spec),
    getRoute: (name) => server.getRoute(name),
    rollback: (name) => server.rollback(name),
    infer: (name, request, options) => server.infer(name, request, options),
    listen: (options) => server.listen(options),
    close: () => server.close(),
    ...overrides,
  };
}

describeContract(serverContract, 'onnx (embedded onnxruntime)', () => fixture());

it('the contract catches a router that ignores the route key', async () => {
  // Injected bug: every routeKey is dropped, so sticky routing becomes random.
  const report = await checkContract(serverContract, () =>
    fixture((server) => {
      const infer: Server['infer'] = (name, request, options) =>
        server.infer(name, request, { version: options?.version });
      return withOverrides(server, { infer });
    }),
  );
  expect(report.failed.map((f) => f.name)).toEqual([
    'a route key pins one version (sticky), and keys spread over the candidates',
  ]);
});
