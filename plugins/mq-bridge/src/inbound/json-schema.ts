import { z } from 'zod';

/**
 * JSON Schema's `required` applies whether or not the name is under `properties`; zod's
 * converter only enforces listed properties, so list every required name (as `{}`: any
 * value) before converting, at every level.
 */
export function listRequiredProperties(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(listRequiredProperties);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = listRequiredProperties(v);
  if (Array.isArray(out.required)) {
    const properties =
      out.properties !== null && typeof out.properties === 'object' ? { ...(out.properties as object) } : {};
    for (const name of out.required) {
      if (typeof name === 'string' && !(name in properties))
        (properties as Record<string, unknown>)[name] = {};
    }
    out.properties = properties;
  }
  return out;
}

/** A JSON Schema as a zod schema (what the config check and the message check both use). */
export function jsonSchemaToZod(schema: Record<string, unknown>): z.ZodType {
  return z.fromJSONSchema(listRequiredProperties(schema) as Parameters<typeof z.fromJSONSchema>[0]);
}
