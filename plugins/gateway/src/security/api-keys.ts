import { type ApiKeyConfig, ROLES, type Role } from '@vigil/core';

export { type ApiKeyConfig, ROLES, type Role } from '@vigil/core';

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
