import { type ConfigIssue, substituteEnv } from '@vigil/core';
import { parse } from 'yaml';
import { GatewayError } from './errors.js';
import type { GatewayOptionsInput } from './options.js';

/**
 * Gateway options from a YAML (or JSON) document, with `${env:NAME}` references replaced from
 * `env` (core's substituteEnv, as in a Vigil config) so secrets (API keys) stay out of the
 * file. Every unset variable is reported at once, with its path. The result still goes
 * through the options schema (`new Gateway(...)`).
 */
export function gatewayOptionsFromYaml(
  text: string,
  env: Record<string, string | undefined> = process.env,
): GatewayOptionsInput {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new GatewayError(
      'VIGIL_GATEWAY_INVALID_REQUEST',
      `config: not valid YAML (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new GatewayError('VIGIL_GATEWAY_INVALID_REQUEST', 'config: expected a mapping of gateway options');
  }
  const unset: ConfigIssue[] = [];
  const out = substituteEnv(doc, env, [], unset) as GatewayOptionsInput;
  if (unset.length > 0) {
    const issues = unset.map((i) => `${i.path}: ${i.message}`);
    throw new GatewayError('VIGIL_GATEWAY_INVALID_REQUEST', `invalid gateway config: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  return out;
}
