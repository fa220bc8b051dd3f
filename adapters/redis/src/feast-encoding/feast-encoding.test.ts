import { describe, expect, it } from 'vitest';
import {
  decodeTimestamp,
  decodeValue,
  encodeTimestamp,
  encodeValue,
  featureField,
  redisKey,
  serializeEntityKey,
  timestampField,
} from './index.js';

/** Hex of the INTEROP vectors, written with spaces between groups. */
const hex = (s: string): string => s.replaceAll(' ', '');

describe('INTEROP §1 vectors: entity key serialisation v3 + project', () => {
  it('{entity: int32 1}, project test', () => {
    const key = redisKey([{ name: 'entity', dtype: 'int32', value: 1 }], 'test');
    expect(key.toString('hex')).toBe(
      hex('01000000 02000000 06000000 656e74697479 03000000 04000000 01000000 74657374'),
    );
  });

  it('{driver_id: int64 1001}, project proj (number, bigint and digit string agree)', () => {
    const want = hex(
      '01000000 02000000 09000000 6472697665725f6964 04000000 08000000 e903000000000000 70726f6a',
    );
    for (const value of [1001, 1001n, '1001']) {
      expect(redisKey([{ name: 'driver_id', dtype: 'int64', value }], 'proj').toString('hex')).toBe(want);
    }
  });

  it('{user: int64 5, customer: "c1"}, project proj: join keys sorted by name', () => {
    const key = redisKey(
      [
        { name: 'user', dtype: 'int64', value: 5 },
        { name: 'customer', dtype: 'string', value: 'c1' },
      ],
      'proj',
    );
    expect(key.toString('hex')).toBe(
      hex(
        '02000000 02000000 08000000 637573746f6d6572 02000000 04000000 75736572 02000000 02000000 6331 04000000 08000000 0500000000000000 70726f6a',
      ),
    );
  });

  it('lengths are UTF-8 byte lengths; negative int64 is two’s complement', () => {
    const key = serializeEntityKey([{ name: 'pé', dtype: 'string', value: 'ü' }]);
    expect(key.toString('hex')).toBe(hex('01000000 02000000 03000000 70c3a9 02000000 02000000 c3bc'));
    const neg = serializeEntityKey([{ name: 'k', dtype: 'int64', value: -2 }]);
    expect(neg.subarray(-8).toString('hex')).toBe('feffffffffffffff');
  });

  it('rejects a value that does not fit the declared dtype, naming the join key only', () => {
    expect(() => serializeEntityKey([{ name: 'driver_id', dtype: 'int64', value: 'p1' }])).toThrow(
      /join key 'driver_id' is declared int64/,
    );
    expect(() => serializeEntityKey([{ name: 'k', dtype: 'int32', value: 2 ** 31 }])).toThrow(/int32/);
    expect(() => serializeEntityKey([{ name: 'k', dtype: 'string', value: null }])).toThrow(/'k'/);
  });
});

describe('INTEROP §1 vectors: hash fields', () => {
  it.each([
    ['feature_10', '266d5f39'],
    ['feature_11', 'c3379abf'],
    ['feature_12', '7772b564'],
  ])('feature_view_1:%s → %s', (feature, want) => {
    expect(featureField('feature_view_1', feature).toString('hex')).toBe(want);
  });

  it('_ts:<view> is the literal name', () => {
    expect(timestampField('driver_hourly').toString()).toBe('_ts:driver_hourly');
  });
});

describe('INTEROP §1 vectors: Timestamp and Value protobufs', () => {
  it('Timestamp 2024-01-01T12:00:10Z → 08 ca d2 ca ac 06, and back', () => {
    const micros = Date.parse('2024-01-01T12:00:10Z') * 1000;
    const bytes = encodeTimestamp(micros);
    expect(bytes.toString('hex')).toBe('08cad2caac06');
    expect(decodeTimestamp(bytes)).toBe(micros);
  });

  it('Timestamp keeps sub-second nanos and omits zero fields', () => {
    const micros = Date.parse('2024-01-01T12:00:10.5Z') * 1000 + 1;
    const bytes = encodeTimestamp(micros);
    // seconds, then nanos = 500_001_000 (field 2 varint); checked against Python's protobuf.
    expect(bytes.toString('hex')).toBe('08cad2caac0610e8d1b5ee01');
    expect(decodeTimestamp(bytes)).toBe(micros);
    expect(encodeTimestamp(0).length).toBe(0);
    expect(decodeTimestamp(encodeTimestamp(-1_500_000))).toBe(-1_500_000);
  });

  it('float 0.5 → 35 0000003f; int64 1002 → 20 ea07', () => {
    expect(encodeValue(0.5, 'float32').toString('hex')).toBe('350000003f');
    expect(encodeValue(1002, 'int64').toString('hex')).toBe('20ea07');
    expect(decodeValue(Buffer.from('350000003f', 'hex'))).toBe(0.5);
    expect(decodeValue(Buffer.from('20ea07', 'hex'))).toBe(1002);
  });

  it('oneof members are written even at their default value', () => {
    expect(encodeValue(0, 'int64').toString('hex')).toBe('2000');
    expect(encodeValue(0, 'float64').toString('hex')).toBe('290000000000000000');
    expect(encodeValue('', 'string').toString('hex')).toBe('1200');
    expect(encodeValue(false, 'bool').toString('hex')).toBe('3800');
  });

  it('round-trips every dtype; null is an empty Value', () => {
    const cases: [unknown, Parameters<typeof encodeValue>[1], unknown][] = [
      [72.25, 'float64', 72.25],
      [-3, 'int64', -3],
      [-7, 'int32', -7],
      [2 ** 40, 'int64', 2 ** 40],
      ['héllo', 'string', 'héllo'],
      [true, 'bool', true],
      ['2024-01-01T12:00:10.900Z', 'timestamp', '2024-01-01T12:00:10.000Z'],
    ];
    for (const [value, dtype, back] of cases) expect(decodeValue(encodeValue(value, dtype))).toEqual(back);
    expect(encodeValue(null, 'float64').length).toBe(0);
    expect(decodeValue(Buffer.alloc(0))).toBeNull();
    expect(decodeValue(null)).toBeNull();
    // null_val (field 19) reads as null too.
    expect(decodeValue(Buffer.from('9801' + '00', 'hex'))).toBeNull();
    // A negative int32 is a 10-byte varint (sign-extended), as protobuf writes it.
    expect(encodeValue(-1, 'int32').toString('hex')).toBe('18ffffffffffffffffff01');
  });

  it('rejects values of the wrong type and list members', () => {
    expect(() => encodeValue('x', 'float64')).toThrow(/float64/);
    expect(() => encodeValue(1.5, 'int64')).toThrow(/int64/);
    expect(() => encodeValue(2 ** 31, 'int32')).toThrow(/int32/);
    // double_list_val (field 15) has no scalar form.
    expect(() => decodeValue(Buffer.from('7a00', 'hex'))).toThrow(/field 15/);
  });
});
