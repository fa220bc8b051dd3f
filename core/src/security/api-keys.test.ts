import { describe, expect, it } from 'vitest';
import { ApiKeys, missingKeyReason, presentedKey, roleAllows } from './api-keys.js';

describe('ApiKeys', () => {
  const keys = new ApiKeys([
    { name: 'app', key: 'k-predict-0123456789', role: 'predict' },
    { name: 'ops', key: 'k-operate-0123456789', role: 'operate' },
  ]);

  it('finds a key by its exact value only', () => {
    expect(keys.enabled).toBe(true);
    expect(keys.find('k-predict-0123456789')).toEqual({ name: 'app', role: 'predict' });
    expect(keys.find('k-operate-0123456789')).toEqual({ name: 'ops', role: 'operate' });
    expect(keys.find('k-predict-012345678')).toBeUndefined();
    expect(keys.find('k-predict-0123456789 ')).toBeUndefined();
    expect(keys.find('')).toBeUndefined();
    expect(new ApiKeys([]).enabled).toBe(false);
  });

  it('orders roles predict < operate < admin', () => {
    expect(roleAllows('predict', 'predict')).toBe(true);
    expect(roleAllows('predict', 'operate')).toBe(false);
    expect(roleAllows('operate', 'predict')).toBe(true);
    expect(roleAllows('operate', 'admin')).toBe(false);
    expect(roleAllows('admin', 'operate')).toBe(true);
  });

  it('reads Bearer tokens and x-api-key, and flags other Authorization schemes', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toEqual({ key: 'abc' });
    expect(presentedKey({ authorization: 'bearer  abc' })).toEqual({ key: 'abc' });
    expect(presentedKey({ authorization: 'Basic YWJj' })).toEqual({ malformed: true });
    expect(presentedKey({ authorization: 'Bearer' })).toEqual({ malformed: true });
    expect(presentedKey({ 'x-api-key': 'xyz' })).toEqual({ key: 'xyz' });
    expect(presentedKey({})).toEqual({});
  });

  it('words the 401 by what was presented', () => {
    expect(missingKeyReason(presentedKey({ authorization: 'Basic YWJj' }))).toBe(
      'Authorization: expected "Bearer <key>"',
    );
    expect(missingKeyReason(presentedKey({ 'x-api-key': 'nope' }))).toBe('unknown API key');
    expect(missingKeyReason(presentedKey({}))).toMatch(/^missing API key: send Authorization: Bearer <key>/);
  });
});
