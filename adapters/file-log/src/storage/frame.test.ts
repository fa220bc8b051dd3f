import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { PreparedRecord } from './frame.js';
import { checkFrame, decodeFrames, encodeFrames, frameBytes } from './frame.js';

const records: PreparedRecord[] = [
  { key: null, value: new Uint8Array([0, 255, 1]), headers: [], timestamp: 1 },
  {
    key: '',
    value: 'ünï ✓',
    headers: [
      ['h', 'v'],
      ['__proto__', 'x'],
    ],
    timestamp: 1_700_000_000_000.5,
  },
  { key: 'site-3', value: '', headers: [['µ', '']], timestamp: 0 },
];

describe('frame', () => {
  it('round-trips keys, values, headers, timestamps and offsets', () => {
    const { buffer, starts } = encodeFrames(records, 2 ** 40);
    assert.equal(starts.length, 4);
    assert.equal(starts[3], buffer.length);
    assert.equal(
      buffer.length,
      records.map(frameBytes).reduce((a, b) => a + b),
    );
    const decoded = decodeFrames(buffer);
    assert.deepEqual(
      decoded.map((d) => d.offset),
      [2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2],
    );
    assert.deepEqual([...decoded[0]!.value], [0, 255, 1]);
    assert.equal(decoded[0]!.key, null);
    assert.equal(decoded[1]!.key, '');
    assert.equal(Buffer.from(decoded[1]!.value).toString(), 'ünï ✓');
    assert.deepEqual(Object.entries(decoded[1]!.headers), [
      ['h', 'v'],
      ['__proto__', 'x'],
    ]);
    assert.equal(decoded[1]!.timestamp, 1_700_000_000_000.5);
    assert.deepEqual(decoded[2]!.headers, { µ: '' });
  });

  it('checkFrame accepts a whole frame and names what is wrong with a bad one', () => {
    const { buffer, starts } = encodeFrames(records, 10);
    const second = starts[1]!;
    const length = starts[2]! - second;
    assert.deepEqual(checkFrame(buffer, second, buffer.length - second, 11), { ok: true, length });
    assert.deepEqual(checkFrame(buffer, second, buffer.length - second, 12), {
      ok: false,
      reason: 'bad-offset',
    });
    assert.deepEqual(checkFrame(buffer, second, length - 1, 11), { ok: false, reason: 'short-body' });
    assert.deepEqual(checkFrame(buffer, second, 5, 11), { ok: false, reason: 'short-header' });
    const corrupt = Buffer.from(buffer);
    corrupt[second + 20] = corrupt[second + 20]! ^ 0x01;
    assert.deepEqual(checkFrame(corrupt, second, buffer.length - second, 11), {
      ok: false,
      reason: 'bad-crc',
    });
  });
});
