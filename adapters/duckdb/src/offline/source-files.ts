import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FeatureView, type LakeStore, VigilError } from '@vigil/core';

/** Lake paths under a view's source that hold its data: `*.parquet` under `source.path/`, or the file itself. */
export async function listSourceObjects(
  lake: LakeStore,
  commit: string,
  view: FeatureView,
): Promise<string[]> {
  const path = view.source.path.replace(/\/+$/, '');
  if (/\.parquet$/i.test(path)) {
    const objects = await lake.list(commit, path);
    return objects.filter((o) => o.path === path).map((o) => o.path);
  }
  const objects = await lake.list(commit, `${path}/`);
  return objects.filter((o) => /\.parquet$/i.test(o.path)).map((o) => o.path);
}

/**
 * Files DuckDB can read for a view's source at a commit. With `directRead` the lake's own
 * locations are used; otherwise each object is copied once into `cacheDir`, named by its
 * commit-independent checksum, and reused.
 */
export async function locateSourceFiles(
  lake: LakeStore,
  commit: string,
  view: FeatureView,
  cacheDir: string,
): Promise<string[]> {
  const paths = await listSourceObjects(lake, commit, view);
  if (lake.capabilities.directRead) return Promise.all(paths.map((p) => lake.locate(commit, p)));
  await mkdir(cacheDir, { recursive: true });
  const infos = await lake.list(commit, view.source.path);
  const checksums = new Map(infos.map((o) => [o.path, o.checksum]));
  return Promise.all(
    paths.map(async (p) => {
      const name = `${(checksums.get(p) ?? p).replace(/[^A-Za-z0-9]/g, '_')}.parquet`;
      const file = join(cacheDir, name);
      const cached = await stat(file).catch(() => undefined);
      if (cached?.isFile()) return file;
      const data = await lake.get(commit, p);
      if (!data) {
        throw new VigilError(
          'VIGIL_LAKE_NOT_FOUND',
          `view '${view.name}': source object '${p}' vanished at ${commit}`,
        );
      }
      await writeFile(`${file}.tmp`, data);
      await rename(`${file}.tmp`, file);
      return file;
    }),
  );
}
