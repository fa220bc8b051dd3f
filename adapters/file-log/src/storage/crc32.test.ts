import assert from 'node:assert/strict';
import { createRng } from '@vigil/core';
import { describe, it } from 'vitest';
import { crc32, crc32Portable } from './crc32.js';

describe('crc32', () => {
  it('gives the CRC-32 check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32Portable(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it('portable and native implementations agree', () => {
    const rng = createRng(7);
    for (let n = 0; n < 50; n++) {
      const data = new Uint8Array(rng.int(3000)).map(() => rng.int(256));
      assert.equal(crc32Portable(data), crc32(data));
    }
  });
});
