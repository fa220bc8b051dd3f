import { createHmac } from 'node:crypto';
import { VigilError } from '../errors.js';

/** Turns an entity id (a patient id) into a stable pseudonym; the same key gives the same pseudonym. */
export type Pseudonymiser = (id: string) => string;

/** Shortest key accepted, in bytes (HMAC-SHA256 keys shorter than this are guessable). */
export const MIN_PSEUDONYM_KEY_BYTES = 16;

/**
 * HMAC-SHA256 pseudonyms: `p_` + the first 32 hex digits (128 bits) of HMAC(key, id). Without
 * the key nobody can recompute or reverse them; with it, an auditor can check that a pseudonym
 * belongs to a given patient. Prediction logs, metrics and traces carry only these.
 */
export function createPseudonymiser(key: string, options: { cache?: boolean } = {}): Pseudonymiser {
  if (typeof key !== 'string' || Buffer.byteLength(key) < MIN_PSEUDONYM_KEY_BYTES) {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `pseudonymKey: must be at least ${MIN_PSEUDONYM_KEY_BYTES} bytes (set it by \${env:…} reference)`,
    );
  }
  const of = (id: string) => `p_${createHmac('sha256', key).update(id).digest('hex').slice(0, 32)}`;
  // Without the cache, for ids seen once (e.g. random prediction ids), which would only push the
  // ids worth caching (patients) out of it.
  if (options.cache === false) return of;
  const cache = new Map<string, string>();
  return (id: string) => {
    let pseudonym = cache.get(id);
    if (pseudonym === undefined) {
      pseudonym = of(id);
      if (cache.size >= 100_000) cache.clear();
      cache.set(id, pseudonym);
    }
    return pseudonym;
  };
}

/** Whether a string is already a pseudonym of `createPseudonymiser`. */
export function isPseudonym(value: string): boolean {
  return /^p_[0-9a-f]{32}$/.test(value);
}
