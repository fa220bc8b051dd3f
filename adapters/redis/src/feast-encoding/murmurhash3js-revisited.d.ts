/** Types of the untyped `murmurhash3js-revisited` package (only what we call). */
declare module 'murmurhash3js-revisited' {
  interface MurmurHash3 {
    x86: {
      /** MurmurHash3 x86_32 of `bytes` with `seed`, as an unsigned 32-bit integer. */
      hash32(bytes: Uint8Array | readonly number[], seed?: number): number;
    };
  }
  const murmurHash3: MurmurHash3;
  export default murmurHash3;
}
