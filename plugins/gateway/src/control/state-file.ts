import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@vigil/core';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import { COLORS, type Color, issuePath, upstreamUrlSchema } from '../options.js';

/** What survives a restart: which color serves, which served before, and each color's upstream. */
export const gatewayStateSchema = z.strictObject({
  version: z.literal(1),
  active: z.enum(COLORS).nullable(),
  previous: z.enum(COLORS).nullable(),
  switchedAt: z.string().nullable(),
  upstreams: z.strictObject({ blue: upstreamUrlSchema.optional(), green: upstreamUrlSchema.optional() }),
});
export type GatewayState = z.infer<typeof gatewayStateSchema>;

/** The saved state, or undefined when the file does not exist; an unreadable one is an error naming the file. */
export function readGatewayState(file: string): GatewayState | undefined {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new GatewayError(
      'VIGIL_GATEWAY_INVALID_REQUEST',
      `stateFile: ${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}); fix or delete it`,
    );
  }
  const parsed = gatewayStateSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`);
    throw new GatewayError(
      'VIGIL_GATEWAY_INVALID_REQUEST',
      `stateFile: ${file}: ${issues.join('; ')}; fix or delete it`,
    );
  }
  const state = parsed.data;
  for (const color of [state.active, state.previous]) {
    if (color !== null && state.upstreams[color as Color] === undefined) {
      throw new GatewayError(
        'VIGIL_GATEWAY_INVALID_REQUEST',
        `stateFile: ${file}: ${color} has no upstream; fix or delete it`,
      );
    }
  }
  return state;
}

/** Write the state atomically (core's writeFileAtomic: a temporary file renamed over the old one). */
export function writeGatewayState(file: string, state: GatewayState): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}
