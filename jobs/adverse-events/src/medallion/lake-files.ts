import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LakeStore } from '@vigil/core';
import { VigilError } from '@vigil/core';

/**
 * Moves Parquet files between the lake and DuckDB: committed or staged objects become
 * local paths DuckDB can read (`locate` when the lake has `directRead`, otherwise a copy
 * under the scratch folder), and files DuckDB wrote become lake objects.
 */
export class LakeFiles {
  readonly #lake: LakeStore;
  readonly #scratch: string;
  #copies = 0;

  constructor(lake: LakeStore, scratch: string) {
    this.#lake = lake;
    this.#scratch = scratch;
  }

  /** Local paths of the Parquet objects under `prefix` at `ref`, sorted by object path. */
  async parquetPaths(ref: string, prefix: string): Promise<string[]> {
    const objects = (await this.#lake.list(ref, prefix)).filter((o) => o.path.endsWith('.parquet'));
    const paths: string[] = [];
    for (const object of objects) paths.push(await this.#localPath(ref, object.path));
    return paths;
  }

  /** Local paths of the given objects at `ref` (staged ones included when `ref` is a branch), in order. */
  async localPaths(ref: string, paths: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const path of paths) out.push(await this.#localPath(ref, path));
    return out;
  }

  async #localPath(ref: string, path: string): Promise<string> {
    if (this.#lake.capabilities.directRead) {
      const located = await this.#lake.locate(ref, path);
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(located) || located.startsWith('file://')) {
        return located.replace(/^file:\/\//, '');
      }
    }
    const bytes = await this.#lake.get(ref, path);
    if (bytes === null) {
      throw new VigilError('VIGIL_LAKE_NOT_FOUND', `object '${path}' listed at '${ref}' could not be read`, {
        details: { ref, path },
      });
    }
    const dir = join(this.#scratch, 'copies');
    await mkdir(dir, { recursive: true });
    const local = join(dir, `${++this.#copies}.parquet`);
    await writeFile(local, bytes);
    return local;
  }

  /** Stage local files as lake objects on `branch` ([lake path, local file] pairs), a few at a time. */
  async putAll(
    branch: string,
    entries: readonly (readonly [string, string])[],
    concurrency = 8,
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const [path, file] = entries[next++]!;
        await this.#lake.put(branch, path, new Uint8Array(await readFile(file)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  }
}
