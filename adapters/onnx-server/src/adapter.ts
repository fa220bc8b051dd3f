import { defineAdapter } from '@vigil/core';
import { z } from 'zod';
import { OnnxServer } from './onnx-server.js';
import type { OrtModule } from './runtime/ort.js';

export const onnxServerConfig = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('Interface the HTTP server binds to.'),
  port: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe('TCP port of the HTTP server; 0 picks any free port.'),
  bodyLimitBytes: z
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024)
    .describe('Largest request body accepted, in bytes (larger bodies get 413).'),
  intraOpThreads: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe('onnxruntime intra-op threads per session.'),
  seed: z
    .number()
    .int()
    .optional()
    .describe("Seed of the router's random choices; defaults to the run seed."),
});

/** Embedded Server: Open Inference Protocol over HTTP, onnxruntime, canary/shadow router with rollback. */
export const onnxServer = defineAdapter({
  port: 'server',
  name: 'onnx',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Embedded Server: serves ONNX model versions with onnxruntime over the Open Inference Protocol (KServe v2), with a seeded canary/shadow router, sticky routing and rollback.',
  config: onnxServerConfig,
  capabilities: { canary: true, shadow: true, http: true, entities: false, fallback: false },
  async create(config, ctx) {
    const ort: OrtModule = await import('onnxruntime-node');
    return new OnnxServer(
      ort,
      {
        host: config.host,
        port: config.port,
        bodyLimitBytes: config.bodyLimitBytes,
        intraOpThreads: config.intraOpThreads,
        seed: config.seed ?? ctx.seed,
      },
      ctx.logger.child({ component: 'server:onnx' }),
    );
  },
});
