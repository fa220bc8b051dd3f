import type { LakeStore } from '../ports/lake-store.js';
import { withOverrides } from './with-overrides.js';

/** A LakeStore with one injected bug: a merge takes the source's side of every conflicting path. */
export function withOverwritingMerge(lake: LakeStore): LakeStore {
  return withOverrides(lake, (real) => ({
    async merge(source, into, options) {
      try {
        return await real.merge(source, into, options);
      } catch {
        for (const { path } of await real.diff(into, source)) {
          const data = await real.get(source, path);
          if (data === null) await real.delete(into, path);
          else await real.put(into, path, data);
        }
        return real.commit(into, options?.message ?? 'merge', { allowEmpty: true });
      }
    },
  }));
}
