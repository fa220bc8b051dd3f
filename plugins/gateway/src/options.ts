import { z } from 'zod';
import { GatewayError } from './errors.js';
import { ROLES } from './security/api-keys.js';

export const COLORS = ['blue', 'green'] as const;
export type Color = (typeof COLORS)[number];

export const upstreamUrlSchema = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname.replace(/\/+$/, '') === '';
    } catch {
      return false;
    }
  }, 'expected an http(s) URL of a server root, like http://127.0.0.1:8081')
  .describe(
    'Root URL of an upstream serving version (a `vigil serve` or any Open Inference Protocol server).',
  );

/** An Open Inference Protocol inference request, as sent to `/v2/models/{model}/infer`. */
export const inferRequestSchema = z
  .looseObject({
    inputs: z
      .array(
        z.looseObject({
          name: z.string().describe('Input tensor name.'),
          shape: z.array(z.number().int().min(0)).describe('Tensor shape.'),
          datatype: z.string().describe('OIP datatype, e.g. FP32.'),
          data: z.array(z.unknown()).describe('Tensor data, row-major.'),
        }),
      )
      .min(1)
      .describe('At least one input tensor.'),
  })
  .describe('An Open Inference Protocol inference request.');
export type InferRequest = z.infer<typeof inferRequestSchema>;

/** The shape of an answer's outputs: name, datatype and shape (a -1 dimension matches any size). */
export const outputSignatureSchema = z
  .array(
    z.strictObject({
      name: z.string().describe('Output tensor name.'),
      datatype: z.string().describe('OIP datatype.'),
      shape: z.array(z.number().int().min(-1)).describe('Shape; -1 matches any size.'),
    }),
  )
  .describe('The outputs an answer must have, in order.');
export type OutputSignature = z.infer<typeof outputSignatureSchema>;

export const gatewayOptionsSchema = z.strictObject({
  host: z.literal('127.0.0.1').default('127.0.0.1').describe('Address to listen on (loopback only).'),
  port: z.number().int().min(0).max(65535).default(8000).describe('Public port (0 picks a free one).'),
  blue: upstreamUrlSchema.optional().describe('Upstream of the blue color at start.'),
  green: upstreamUrlSchema.optional().describe('Upstream of the green color at start.'),
  active: z
    .enum(COLORS)
    .optional()
    .describe('Color that takes traffic at start (default: blue when set, else green).'),
  model: z
    .string()
    .min(1)
    .optional()
    .describe('Model name for status metadata and checks (`/v2/models/{model}`); a check may name its own.'),
  keys: z
    .array(
      z.strictObject({
        name: z.string().min(1).describe('Key name, recorded with every control action.'),
        key: z
          .string()
          .min(8)
          .describe(
            'The secret: in a config file, write it as an env reference (see the README), never inline.',
          ),
        role: z.enum(ROLES).describe('predict: status; operate: stage, check, switch, rollback.'),
      }),
    )
    .default([])
    .describe('API keys for the control API. With none, every control endpoint answers 401.'),
  upstreamKey: z
    .string()
    .optional()
    .describe("Bearer key the gateway's own calls (checks, status) send to upstreams that require one."),
  check: z
    .strictObject({
      maxAgeMs: z
        .number()
        .int()
        .positive()
        .default(300_000)
        .describe('A switch needs a passing check of the color at most this old.'),
      timeoutMs: z.number().int().positive().default(5_000).describe('Timeout of each HTTP call of a check.'),
      samples: z
        .number()
        .int()
        .min(1)
        .max(100)
        .default(5)
        .describe('How many smoke inferences a check sends (latency p50 and max over them).'),
      request: inferRequestSchema
        .optional()
        .describe(
          'Smoke request used when the operator sends none (else one derived from the model metadata).',
        ),
    })
    .prefault({})
    .describe('What a check does and how long it stays valid.'),
  upstreamTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(60_000)
    .describe('A forwarded request with no answer within this time gets 504.'),
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024)
    .describe('Largest request body forwarded (413 above).'),
  maxSockets: z
    .number()
    .int()
    .positive()
    .default(256)
    .describe('Keep-alive connections per upstream at most.'),
  stateFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      'JSON file keeping the active and previous color and each color’s upstream across restarts; when it exists it wins over blue, green and active.',
    ),
  drainMs: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('On close, how long in-flight requests may take to finish.'),
});
export type GatewayOptionsInput = z.input<typeof gatewayOptionsSchema>;
export type GatewayOptions = z.output<typeof gatewayOptionsSchema>;

/** Path of a zod issue as `a.b.0.c`. */
export const issuePath = (path: readonly PropertyKey[]): string => path.map(String).join('.') || '(root)';

/** Validate gateway options, reporting every problem at once with its path. */
export function parseGatewayOptions(input: GatewayOptionsInput): GatewayOptions {
  const parsed = gatewayOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`);
    throw new GatewayError('VIGIL_GATEWAY_INVALID_REQUEST', `invalid gateway options: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  return parsed.data;
}
