import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { murmur2, toPositive } from './murmur2.js';
import { Partitioner } from './partitioner.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('murmur2 (Kafka Utils.murmur2)', () => {
  it("matches Kafka's UtilsTest vectors", () => {
    assert.equal(murmur2(bytes('21')), -973932308);
    assert.equal(murmur2(bytes('foobar')), -790332482);
    assert.equal(murmur2(bytes('a-little-bit-long-string')), -985981536);
    assert.equal(murmur2(bytes('a-little-bit-longer-string')), -1486304829);
    assert.equal(murmur2(bytes('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
    assert.equal(murmur2(new Uint8Array([0x61, 0x62, 0x63])), 479470107);
  });

  it('matches hashes of every tail length (vectors checked against the Java implementation)', () => {
    for (const [key, hash] of [
      ['1', -1993445489],
      ['12', 126087238],
      ['123', -267702483],
      ['1234', -1614185708],
      ['12345', -1188365604],
    ] as const) {
      assert.equal(murmur2(bytes(key)), hash, key);
    }
  });

  it('toPositive clears the sign bit like Kafka (not Math.abs)', () => {
    assert.equal(toPositive(-973932308), -973932308 & 0x7fffffff);
    assert.equal(toPositive(-2147483648), 0);
    assert.equal(toPositive(5), 5);
  });
});

describe('Partitioner', () => {
  it('puts a key where Kafka would: toPositive(murmur2(key)) % partitions', () => {
    assert.equal(Partitioner.forKey('foobar', 4), toPositive(-790332482) % 4);
    assert.equal(Partitioner.forKey('21', 7), toPositive(-973932308) % 7);
    const p = new Partitioner(6);
    for (let i = 0; i < 50; i++) assert.equal(p.partition(`site-${i}`), Partitioner.forKey(`site-${i}`, 6));
  });

  it('spreads null keys round-robin', () => {
    const p = new Partitioner(3);
    assert.deepEqual(
      Array.from({ length: 7 }, () => p.partition(null)),
      [0, 1, 2, 0, 1, 2, 0],
    );
  });
});
