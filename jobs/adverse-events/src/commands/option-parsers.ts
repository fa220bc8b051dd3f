/** Parsers of command-line option values; each throws an Error saying what is expected. */

export function seedOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error('the seed must be a non-negative integer');
  return n;
}

export function positiveIntOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error('expected a positive integer');
  return n;
}

export function isoOption(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(Date.parse(value))) {
    throw new Error('expected an ISO 8601 date or date-time, e.g. 2026-01-05T00:00:00Z');
  }
  return value;
}

export function tcpPortOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error('the port must be an integer 0–65535');
  return n;
}

/** A repeatable option: every value, in order. */
export function collectOption(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
}
