import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPseudonymiser, isPseudonym } from './pseudonym.js';

describe('createPseudonymiser', () => {
  const key = 'k'.repeat(32);

  it('is HMAC-SHA256 of the id under the key (checked with node:crypto directly)', () => {
    const pseudonymise = createPseudonymiser(key);
    const expected = `p_${createHmac('sha256', key).update('P0001').digest('hex').slice(0, 32)}`;
    expect(pseudonymise('P0001')).toBe(expected);
    expect(pseudonymise('P0001')).toBe(expected);
    expect(createPseudonymiser(key, { cache: false })('P0001')).toBe(expected);
    expect(isPseudonym(expected)).toBe(true);
    expect(expected).not.toContain('P0001');
  });

  it('depends on the key and the id', () => {
    const a = createPseudonymiser(key);
    const b = createPseudonymiser('j'.repeat(32));
    expect(a('P0001')).not.toBe(b('P0001'));
    expect(a('P0001')).not.toBe(a('P0002'));
  });

  it('refuses a short key, naming the field', () => {
    expect(() => createPseudonymiser('short')).toThrow(/pseudonymKey: must be at least 16 bytes/);
  });
});
