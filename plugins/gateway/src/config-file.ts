import { parse } from 'yaml';
import { GatewayError } from './errors.js';
import type { GatewayOptionsInput } from './options.js';

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replace `${env:NAME}` in every string, collecting unset names with their path. */
function substitute(
  value: unknown,
  env: Record<string, string | undefined>,
  path: string[],
  issues: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        issues.push(`${path.join('.') || '(root)'}: environment variable ${name} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, [...path, String(i)], issues));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, env, [...path, k], issues)]),
    );
  }
  return value;
}

/**
 * Gateway options from a YAML (or JSON) document, with `${env:NAME}` references replaced from
 * `env` so secrets (API keys) stay out of the file. Every unset variable is reported at once,
 * with its path. The result still goes through the options schema (`new Gateway(...)`).
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
  const issues: string[] = [];
  const out = substitute(doc, env, [], issues) as GatewayOptionsInput;
  if (issues.length > 0) {
    throw new GatewayError('VIGIL_GATEWAY_INVALID_REQUEST', `invalid gateway config: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  return out;
}
