import { type ComponentContext, defineAdapter, ROLES } from '@vigil/core';
import { z } from 'zod';
import { OnnxServer, type OnnxServerOptions } from './onnx-server.js';
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
  interOpThreads: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe("onnxruntime inter-op threads per session; used only with executionMode 'parallel'."),
  executionMode: z
    .enum(['sequential', 'parallel'])
    .default('sequential')
    .describe(
      "onnxruntime's execution mode: 'sequential' runs one node at a time (best for Vigil's small chain-shaped graphs); 'parallel' runs independent branches (the ensemble's TCN and GBT) on the inter-op pool.",
    ),
  graphOptimizationLevel: z
    .enum(['disabled', 'basic', 'extended', 'all'])
    .default('all')
    .describe(
      "onnxruntime graph optimisations applied when a model is loaded: 'disabled' runs the graph as written; 'basic' folds constants and removes redundant nodes; 'extended' also fuses nodes (e.g. DynamicQuantizeLinear+MatMulInteger into one kernel, which int8 models need to be fast); 'all' adds layout optimisations.",
    ),
  batchRows: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .default(64)
    .describe(
      'Dynamic batching without waiting: the requests whose rows are ready in the same event-loop turn share one onnxruntime run of at most this many rows, and each gets its own rows back (1: every request runs alone). Nothing waits for a batch to fill; a request of this many rows or more runs alone.',
    ),
  seed: z
    .number()
    .int()
    .optional()
    .describe("Seed of the router's random choices; defaults to the run seed."),
  deadlineMs: z
    .number()
    .min(0)
    .default(50)
    .describe(
      'With a fallback scorer set for the model: answers that take longer than this (ms, features and model together) come from the fallback instead.',
    ),
  pseudonymKey: z.string().min(16).optional().describe(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's literal ${env:…} syntax
    'HMAC-SHA256 key of the entity pseudonyms in emitted predictions (at least 16 bytes); a secret, so write it as a ${env:NAME} reference. Absent: a random key per process, with a warning, so pseudonyms change on restart.',
  ),
  latencyWindow: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1024)
    .describe('How many recent answers per version stats() keeps for latency p50/p99.'),
  auth: z
    .strictObject({
      keys: z
        .array(
          z.strictObject({
            name: z
              .string()
              .min(1)
              .describe('Name of the key (used for rate limiting and logs; never the key itself).'),
            key: z.string().min(16).describe(
              // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's literal ${env:…} syntax
              'The API key (at least 16 characters); a secret, so write it as a ${env:NAME} reference.',
            ),
            role: z
              .enum(ROLES)
              .describe(
                'predict < operate < admin: predict may score and read; operate may also change routes.',
              ),
          }),
        )
        .min(1)
        .superRefine((keys, ctx) => {
          const names = new Set<string>();
          const values = new Set<string>();
          keys.forEach((k, i) => {
            if (names.has(k.name))
              ctx.addIssue({
                code: 'custom',
                path: [i, 'name'],
                message: `key name '${k.name}' is listed twice`,
              });
            if (values.has(k.key))
              ctx.addIssue({
                code: 'custom',
                path: [i, 'key'],
                message: 'the same key value is listed twice',
              });
            names.add(k.name);
            values.add(k.key);
          });
        })
        .describe('API keys, sent as Authorization: Bearer <key> or x-api-key: <key>.'),
    })
    .optional()
    .describe(
      'When set, every endpoint except /v2/health/live and /v2/health/ready (and /metrics with publicMetrics) needs a key. State-changing endpoints need role operate, and are refused when no keys are configured.',
    ),
  rateLimit: z
    .strictObject({
      perSecond: z.number().positive().describe('Tokens added per second.'),
      burst: z.number().int().min(1).describe('Bucket size: requests allowed at once.'),
    })
    .optional()
    .describe(
      'Token bucket per API key (per client address when anonymous); over it: 429 with Retry-After. Health probes are not limited.',
    ),
  publicMetrics: z.boolean().default(false).describe('Serve GET /metrics without an API key.'),
  emitBatchRows: z
    .number()
    .int()
    .min(1)
    .default(512)
    .describe('Emit answered rows to the predictions hook once this many wait.'),
  emitFlushMs: z
    .number()
    .int()
    .min(1)
    .default(200)
    .describe('Emit answered rows that waited this long (ms); close() emits the rest.'),
});

/** Embedded Server: Open Inference Protocol over HTTP, onnxruntime, canary/shadow router with rollback. */
export const onnxServer = defineAdapter({
  port: 'server',
  name: 'onnx',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Embedded Server: serves ONNX model versions with onnxruntime over the Open Inference Protocol (KServe v2), with a seeded canary/shadow router, sticky routing and rollback, entity-id requests and a clinician risk endpoint, a fallback scorer behind a deadline, API keys and rate limits.',
  config: onnxServerConfig,
  capabilities: { canary: true, shadow: true, http: true, entities: true, fallback: true },
  async create(config, ctx) {
    const ort: OrtModule = await import('onnxruntime-node');
    return new OnnxServer(
      ort,
      onnxServerOptions(config, ctx),
      ctx.logger.child({ component: 'server:onnx' }),
    );
  },
});

/** The server options a parsed config gives (what `create` builds the server with). */
export function onnxServerOptions(
  config: z.output<typeof onnxServerConfig>,
  ctx: Pick<ComponentContext, 'seed' | 'emit'>,
): OnnxServerOptions {
  return {
    host: config.host,
    port: config.port,
    bodyLimitBytes: config.bodyLimitBytes,
    intraOpThreads: config.intraOpThreads,
    interOpThreads: config.interOpThreads,
    executionMode: config.executionMode,
    graphOptimizationLevel: config.graphOptimizationLevel,
    batchRows: config.batchRows,
    seed: config.seed ?? ctx.seed,
    deadlineMs: config.deadlineMs,
    latencyWindow: config.latencyWindow,
    publicMetrics: config.publicMetrics,
    emitMaxRows: config.emitBatchRows,
    emitMaxDelayMs: config.emitFlushMs,
    emit: (records) => ctx.emit('predictions', records),
    ...(config.pseudonymKey !== undefined ? { pseudonymKey: config.pseudonymKey } : {}),
    ...(config.auth ? { auth: config.auth } : {}),
    ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
  };
}
