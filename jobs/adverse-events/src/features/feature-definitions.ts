import type { FeatureRef, FeatureView } from '@vigil/core';
import { durationSeconds, formatDuration } from './duration.js';
import type { FeaturesConfig, WindowFunction } from './features-config.js';
import { adverseEventViews } from './views.js';

/** One windowed aggregate: `fn` of measure `of` over the `windowSeconds` ending at each event. */
export interface WindowFeature {
  name: string;
  of: string;
  fn: WindowFunction;
  windowSeconds: number;
}

/** A view whose source table is built from measurements: by DuckDB in batch, incrementally when streaming. */
export interface WindowedView {
  view: FeatureView;
  joinKey: string;
  /** Lake path of the long measurement table (silver) and the topic the same events arrive on. */
  input: { path: string; topic: string };
  features: WindowFeature[];
}

/** Everything the store, the CLI, the streaming push and the feature server need, from one definition. */
export interface FeatureDefinitions {
  views: FeatureView[];
  windowed: WindowedView[];
  services: Record<string, FeatureRef[]>;
  /** False when config declares no views and the job's built-in views apply. */
  fromConfig: boolean;
}

/** Lake folder a windowed view's source table is written to (one per version). */
export function windowTablePath(name: string, version: number): string {
  return `features/${name}/v${version}/`;
}

/**
 * Compile the `features` config section into FeatureViews. A window feature's description
 * carries its transform, so changing a transform changes the definition and the store
 * demands a version bump.
 */
export function compileFeatureDefinitions(config: FeaturesConfig | undefined): FeatureDefinitions {
  const services = Object.fromEntries(
    (config?.services ?? []).map((s) => [s.name, s.features as FeatureRef[]]),
  );
  if (!config || config.views.length === 0) {
    return { views: adverseEventViews(), windowed: [], services, fromConfig: false };
  }
  const joinKeys = new Map(config.entities.map((e) => [e.name, e.joinKey]));
  const views: FeatureView[] = [];
  const windowed: WindowedView[] = [];
  for (const v of config.views) {
    const entities = v.entities.map((e) => joinKeys.get(e) ?? e);
    const ttlSeconds = durationSeconds(v.ttl) ?? 0;
    const windows: WindowFeature[] = [];
    const features = v.features.map((f) => {
      if (!f.transform)
        return { name: f.name, dtype: f.dtype!, ...(f.description ? { description: f.description } : {}) };
      const windowSeconds = durationSeconds(f.transform.window)!;
      windows.push({ name: f.name, of: f.transform.of, fn: f.transform.fn, windowSeconds });
      const how = `window ${f.transform.fn}(${f.transform.of}) over ${formatDuration(windowSeconds)}`;
      return {
        name: f.name,
        dtype: f.dtype ?? (f.transform.fn === 'count' ? 'int64' : 'float64'),
        description: f.description ? `${f.description} [${how}]` : how,
      } as const;
    });
    const view: FeatureView = {
      name: v.name,
      entities,
      features,
      ttlSeconds,
      source: v.input
        ? { path: windowTablePath(v.name, v.version), timestampField: 'event_timestamp' }
        : { ...v.source! },
      version: v.version,
      ...(v.description
        ? { description: v.input ? `${v.description} (from ${v.input.path})` : v.description }
        : {}),
    };
    if (v.input && !v.description) view.description = `windowed aggregates of ${v.input.path}`;
    views.push(view);
    if (v.input) windowed.push({ view, joinKey: entities[0]!, input: { ...v.input }, features: windows });
  }
  return { views, windowed, services, fromConfig: true };
}
