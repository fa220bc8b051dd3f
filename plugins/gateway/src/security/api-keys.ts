import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Roles in increasing power, the same ladder as the embedded server's: `predict` may read the
 * gateway's status, `operate` may stage, check, switch and roll back, `admin` may do both.
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

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * The configured keys, kept as SHA-256 digests. `find` compares the presented key's digest
 * with every configured digest by `timingSafeEqual`, always over all keys.
 */
export class ApiKeys {
  readonly #keys: { name: string; role: Role; digest: Buffer }[];

  constructor(keys: readonly ApiKeyConfig[]) {
    this.#keys = keys.map((k) => ({ name: k.name, role: k.role, digest: digest(k.key) }));
  }

  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  find(presented: string): { name: string; role: Role } | undefined {
    const d = digest(presented);
    let found: { name: string; role: Role } | undefined;
    for (const k of this.#keys) {
      if (timingSafeEqual(d, k.digest) && found === undefined) found = { name: k.name, role: k.role };
    }
    return found;
  }
}

/** `Authorization: Bearer <key>` or `x-api-key: <key>`; `malformed` for a non-Bearer Authorization. */
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

/**
 * Keys from one environment string, `name:role:key` entries separated by commas
 * (e.g. `VIGIL_GATEWAY_KEYS=ops:operate:s3cret,dash:predict:d4sh`). `source` names where the
 * string came from, for error messages.
 */
export function parseKeyList(value: string, source: string): ApiKeyConfig[] {
  const keys: ApiKeyConfig[] = [];
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  entries.forEach((entry, i) => {
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    if (first < 1 || second < 0) {
      throw new Error(`${source}[${i}]: expected name:role:key`);
    }
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    const key = entry.slice(second + 1);
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new Error(`${source}[${i}] (${name}): role must be one of ${ROLES.join(', ')}, got '${role}'`);
    }
    if (key.length < 8) throw new Error(`${source}[${i}] (${name}): key must be at least 8 characters`);
    keys.push({ name, role: role as Role, key });
  });
  return keys;
}
