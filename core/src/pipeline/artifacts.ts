import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-file.js';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

type Typed = Uint8Array | Float64Array | Float32Array | Int32Array;
const TYPED: Record<string, new (buffer: ArrayBuffer) => Typed> = {
  u8: Uint8Array,
  f64: Float64Array,
  f32: Float32Array,
  i32: Int32Array,
};
function typedTag(value: unknown): string | undefined {
  if (value instanceof Float64Array) return 'f64';
  if (value instanceof Float32Array) return 'f32';
  if (value instanceof Int32Array) return 'i32';
  if (value instanceof Uint8Array) return 'u8';
  return undefined;
}

/** JSON with sorted keys: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    }
    return v;
  });
}

export function hashOf(value: unknown): string {
  return sha256(canonicalJson(value));
}

/**
 * Content-addressed storage for step outputs: JSON values stay inline; byte and typed
 * arrays go to `<dir>/<sha256>.bin` and are referenced by hash, so an encoded value (and
 * its hash) is small and depends only on content. Dates, NaN and ±Infinity round-trip.
 */
export class ArtifactStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async encode(value: unknown): Promise<unknown> {
    if (value instanceof Date) return { $date: value.toISOString() };
    if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
    const tag = typedTag(value);
    if (tag) {
      const typed = value as Typed;
      const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
      const hash = sha256(bytes);
      const path = join(this.#dir, `${hash}.bin`);
      const exists = await stat(path).then(
        () => true,
        () => false,
      );
      if (!exists) {
        await mkdir(this.#dir, { recursive: true });
        await writeFileAtomic(path, bytes);
      }
      return { $blob: hash, type: tag, length: typed.length };
    }
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.encode(v)));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = await this.encode(v);
      return out;
    }
    return value;
  }

  async decode(value: unknown): Promise<unknown> {
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.decode(v)));
    if (value && typeof value === 'object') {
      const o = value as Record<string, unknown>;
      if (typeof o.$date === 'string') return new Date(o.$date);
      if (typeof o.$num === 'string') return Number(o.$num);
      if (typeof o.$blob === 'string' && typeof o.type === 'string') {
        const bytes = await readFile(join(this.#dir, `${o.$blob}.bin`));
        const Ctor = TYPED[o.type];
        if (!Ctor) throw new Error(`unknown artifact type '${o.type}'`);
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        return new Ctor(copy.buffer);
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) out[k] = await this.decode(v);
      return out;
    }
    return value;
  }
}
