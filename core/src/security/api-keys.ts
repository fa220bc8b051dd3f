import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Roles in increasing power: each role may do what the ones before it may. `predict` calls a
 * model (or reads status), `operate` changes state (routes, rollbacks, switches), `admin` both.
 */
export const ROLES = ['predict', 'operate', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyConfig {
  name: string;
  key: string;
  role: Role;
}

export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The configured API keys. `find` compares the SHA-256 of the presented key with every
 * configured key's digest with `timingSafeEqual`, always over all keys, so the time taken
 * says nothing about which key (or how much of one) matched.
 */
export class ApiKeys {
  readonly #keys: { name: string; role: Role; digest: Buffer }[];

  constructor(keys: readonly ApiKeyConfig[]) {
    this.#keys = keys.map((k) => ({ name: k.name, role: k.role, digest: digest(k.key) }));
  }

  /** Whether any key is configured (auth is on). */
  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /** The key's name and role, or undefined for an unknown key. */
  find(presented: string): { name: string; role: Role } | undefined {
    const d = digest(presented);
    let found: { name: string; role: Role } | undefined;
    for (const k of this.#keys) {
      if (timingSafeEqual(d, k.digest) && found === undefined) found = { name: k.name, role: k.role };
    }
    return found;
  }
}

/**
 * The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`.
 * `malformed` when an Authorization header is present but is not a Bearer token.
 */
export function presentedKey(headers: Record<string, string | string[] | undefined>): {
  key?: string;
  malformed?: boolean;
} {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const authorization = first(headers.authorization);
  if (authorization !== undefined && authorization !== '') {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    return match ? { key: match[1]! } : { malformed: true };
  }
  const apiKey = first(headers['x-api-key']);
  return apiKey !== undefined && apiKey !== '' ? { key: apiKey } : {};
}

/** Why a request's key was refused (401): no key, a non-Bearer Authorization, or an unknown key. */
export function missingKeyReason(presented: { key?: string; malformed?: boolean }): string {
  if (presented.malformed) return 'Authorization: expected "Bearer <key>"';
  return presented.key !== undefined
    ? 'unknown API key'
    : 'missing API key: send Authorization: Bearer <key> or x-api-key: <key>';
}
