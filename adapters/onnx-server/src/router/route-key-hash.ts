/**
 * Map a route key to a point in [0, 1): FNV-1a over the UTF-16 code units, then
 * MurmurHash3's 32-bit finaliser for an even spread. The same key always lands on the
 * same point, so with cumulative weight ranges it keeps its version while the route
 * is unchanged (and mostly keeps it while a canary's weight grows).
 */
export function hashRouteKey(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
