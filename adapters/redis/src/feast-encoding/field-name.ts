import murmurHash3 from 'murmurhash3js-revisited';

/**
 * The Redis hash field of a feature, as Feast writes it: MurmurHash3 x86_32 (seed 0) of the
 * UTF-8 bytes of `"<view>:<feature>"`, as 4 bytes little-endian (Feast's `_mmh3`).
 */
export function featureField(view: string, feature: string): Buffer {
  const hash = murmurHash3.x86.hash32(Buffer.from(`${view}:${feature}`, 'utf8'), 0);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(hash >>> 0, 0);
  return out;
}

/** The hash field holding a view's event timestamp: the literal `_ts:<view>`, not hashed. */
export function timestampField(view: string): Buffer {
  return Buffer.from(`_ts:${view}`, 'utf8');
}
