import { type EntityDtype, VigilError } from '@vigil/core';

/** Join-key dtypes the v3 entity key encodes, with Feast's `ValueType` tag. */
const VALUE_TAG: Readonly<Record<EntityDtype, number>> = { string: 2, int32: 3, int64: 4 };

export const ENTITY_DTYPES: readonly EntityDtype[] = Object.keys(VALUE_TAG) as EntityDtype[];

export function isEntityDtype(value: unknown): value is EntityDtype {
  return typeof value === 'string' && Object.hasOwn(VALUE_TAG, value);
}

/** One join key of an entity: its name, declared dtype and value. */
export interface EntityKeyPart {
  name: string;
  dtype: EntityDtype;
  value: unknown;
}

/** Code-point order, as Python sorts `str` (JS `<` compares UTF-16 code units). */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done) return cb.done ? 0 : -1;
    if (cb.done) return 1;
    const d = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/**
 * Feast's `serialize_entity_key` at entity_key_serialization_version 3: u32 count, then for
 * each join key sorted by name `u32 2, u32 len, utf8 name`, then for each value in the same
 * order `u32 tag, u32 len, bytes` (string: UTF-8; int32: 4 bytes; int64: 8 bytes; all LE).
 * A value is encoded with its join key's declared dtype: `'1001'` and `1001` give the same
 * key for an int64 join key.
 */
export function serializeEntityKey(parts: readonly EntityKeyPart[]): Buffer {
  const sorted = parts.length > 1 ? [...parts].sort((a, b) => compareCodePoints(a.name, b.name)) : parts;
  const chunks: Buffer[] = [u32(sorted.length)];
  for (const part of sorted) {
    const name = Buffer.from(part.name, 'utf8');
    chunks.push(u32(2), u32(name.length), name);
  }
  for (const part of sorted) {
    const bytes = valueBytes(part);
    chunks.push(u32(VALUE_TAG[part.dtype]), u32(bytes.length), bytes);
  }
  return Buffer.concat(chunks);
}

/**
 * A key encoder for one set of join keys (in the caller's order): the count and the sorted
 * names are encoded once, so each key costs only its values. Same bytes as
 * `redisKey(parts, project)`.
 */
export function entityKeyEncoder(
  keys: readonly { name: string; dtype: EntityDtype }[],
  project: string,
): (values: readonly unknown[]) => Buffer {
  const order = keys.map((_, i) => i).sort((a, b) => compareCodePoints(keys[a]!.name, keys[b]!.name));
  const head: Buffer[] = [u32(keys.length)];
  for (const i of order) {
    const name = Buffer.from(keys[i]!.name, 'utf8');
    head.push(u32(2), u32(name.length), name);
  }
  const header = Buffer.concat(head);
  const tail = Buffer.from(project, 'utf8');
  return (values) => {
    const chunks: Buffer[] = [header];
    for (const i of order) {
      const key = keys[i]!;
      const bytes = valueBytes({ name: key.name, dtype: key.dtype, value: values[i] });
      chunks.push(u32(VALUE_TAG[key.dtype]), u32(bytes.length), bytes);
    }
    chunks.push(tail);
    return Buffer.concat(chunks);
  };
}

/** Feast's Redis key: the serialized entity key immediately followed by the UTF-8 project name. */
export function redisKey(parts: readonly EntityKeyPart[], project: string): Buffer {
  return Buffer.concat([serializeEntityKey(parts), Buffer.from(project, 'utf8')]);
}

function u32(n: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(n, 0);
  return out;
}

function valueBytes(part: EntityKeyPart): Buffer {
  const { value, dtype, name } = part;
  if (dtype === 'string') {
    if (value === null || value === undefined) throw invalid(name, dtype, value);
    return Buffer.from(value instanceof Date ? value.toISOString() : String(value), 'utf8');
  }
  let big: bigint;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
  else throw invalid(name, dtype, value);
  const bits = dtype === 'int64' ? 64 : 32;
  if (BigInt.asIntN(bits, big) !== big) throw invalid(name, dtype, value);
  const out = Buffer.allocUnsafe(bits / 8);
  if (bits === 64) out.writeBigInt64LE(big, 0);
  else out.writeInt32LE(Number(big), 0);
  return out;
}

function invalid(name: string, dtype: EntityDtype, value: unknown): VigilError {
  const got = value === null || value === undefined ? String(value) : `a ${typeof value}`;
  return new VigilError(
    'VIGIL_FEATURE_INVALID_REQUEST',
    `join key '${name}' is declared ${dtype} but its value is ${got} that is not a valid ${dtype}`,
  );
}

/**
 * Byte length of the serialized v3 entity key at the start of `buf`, or -1 when `buf` does
 * not start with one. Lets a scan tell `<key><project>` from a key of a project whose name
 * merely ends with ours.
 */
export function entityKeyLength(buf: Uint8Array): number {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.length < 4) return -1;
  const n = view.readUInt32LE(0);
  let pos = 4;
  for (let i = 0; i < 2 * n; i++) {
    if (pos + 8 > view.length) return -1;
    const len = view.readUInt32LE(pos + 4);
    pos += 8 + len;
    if (pos > view.length) return -1;
  }
  return pos;
}
