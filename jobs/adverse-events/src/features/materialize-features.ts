import { join } from 'node:path';
import type { FeatureStore, LakeStore } from '@vigil/core';
import type { FeatureDefinitions } from './feature-definitions.js';
import { buildWindowTables, type WindowTableResult } from './window-table.js';

export interface MaterializeFeaturesResult {
  /** Windowed source tables rebuilt and merged into the lake's default branch. */
  built: WindowTableResult[];
  lakeCommit: string;
  rowsWritten: number;
}

/**
 * Offline → online: rebuild the selected windowed views' source tables from silver on a
 * branch, merge it into the default branch, then materialise the selected views at that
 * commit up to `end`.
 */
export async function materializeFeatures(options: {
  lake: LakeStore;
  store: FeatureStore;
  definitions: FeatureDefinitions;
  end: Date;
  start?: Date;
  views?: readonly string[];
  /** Scratch folder for DuckDB (removed afterwards). */
  scratch: string;
  runId: string;
}): Promise<MaterializeFeaturesResult> {
  const { lake, store, definitions } = options;
  const selected = options.views ? new Set(options.views) : undefined;
  const windowed = definitions.windowed.filter((w) => !selected || selected.has(w.view.name));
  let built: WindowTableResult[] = [];
  if (windowed.length > 0) {
    const branch = `features/${options.runId}`;
    await lake.createBranch(branch, lake.defaultBranch);
    try {
      built = await buildWindowTables({
        lake,
        branch,
        windowed,
        scratch: join(options.scratch, 'window-tables'),
      });
      if (built.some((b) => b.path !== null)) {
        await lake.commit(
          branch,
          `features: window tables ${windowed.map((w) => `${w.view.name}@${w.view.version}`).join(', ')}`,
          {
            metadata: { runId: options.runId },
          },
        );
        await lake.merge(branch, lake.defaultBranch, { message: `features ${options.runId}` });
      }
    } finally {
      await lake.deleteBranch(branch).catch(() => undefined);
    }
  }
  const lakeCommit = await lake.resolve(lake.defaultBranch);
  const { rowsWritten } = await store.materialize({
    end: options.end,
    ref: lakeCommit,
    ...(options.start ? { start: options.start } : {}),
    ...(options.views ? { views: [...options.views] } : {}),
  });
  return { built, lakeCommit, rowsWritten };
}
