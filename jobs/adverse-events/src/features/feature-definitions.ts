import type { FeatureRef, FeatureView } from '@vigil/core';
import { VigilError } from '@vigil/core';
import { type Catalog, DEFAULT_CATALOG } from '../medallion/catalog-config.js';
import { durationSeconds, formatDuration } from './duration.js';
import {
  type FeaturesConfig,
  SINCE_UNITS,
  type TransformKind,
  transformDtype,
  type WindowFunction,
} from './features-config.js';
import { adverseEventViews } from './views.js';

/**
 * One feature of a windowed view, computed at each row's time `t` from the readings at or
 * before `t` only (point in time), the same way by the batch SQL and the streaming push.
 */
export interface WindowFeature {
  name: string;
  kind: TransformKind;
  /** Measure read ('' for an interaction). */
  of: string;
  /** window: the aggregate; baseline and threshold: how the current value is taken; otherwise `last`. */
  fn: WindowFunction;
  /** Look-back window in seconds (window, rate, missing; baseline/threshold current value); 0 = all readings up to t. */
  windowSeconds: number;
  /** baseline: length of the baseline period from the first reading. */
  baselineSeconds?: number;
  /** rate: the time unit of the rate. */
  perSeconds?: number;
  /** threshold: 1 when the current value is `op` `value`. */
  threshold?: { op: '>' | '<'; value: number };
  /** interaction: the two features multiplied. */
  operands?: [string, string];
  /** since: unit of the result in seconds. */
  unitSeconds?: number;
  dtype: 'float64' | 'int64';
  /** The transform spelled out (also in the feature's description). */
  how: string;
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

/** The silver table each measure kind lives in, for checking a view's `input.path`. */
const TABLE_OF_KIND = { vital: 'silver/vitals/', lab: 'silver/labs/' } as const;

type TransformConfig = NonNullable<FeaturesConfig['views'][number]['features'][number]['transform']>;

function compileTransform(name: string, t: TransformConfig): WindowFeature {
  const secs = (d: string | number | undefined) => (d === undefined ? 0 : durationSeconds(d)!);
  const dtype = transformDtype(t);
  const current = (fn: WindowFunction, windowSeconds: number, of: string) =>
    windowSeconds > 0 ? `${fn}(${of}) over ${formatDuration(windowSeconds)}` : `latest ${of}`;
  switch (t.kind) {
    case 'window': {
      const windowSeconds = secs(t.window);
      const how = `window ${t.fn}(${t.of}) over ${formatDuration(windowSeconds)}`;
      return { name, kind: 'window', of: t.of, fn: t.fn, windowSeconds, dtype, how };
    }
    case 'baseline': {
      const windowSeconds = secs(t.window);
      const baselineSeconds = secs(t.period);
      const how = `baseline ${current(t.fn, windowSeconds, t.of)} minus mean(${t.of}) over the first ${formatDuration(baselineSeconds)}`;
      return { name, kind: 'baseline', of: t.of, fn: t.fn, windowSeconds, baselineSeconds, dtype, how };
    }
    case 'rate': {
      const windowSeconds = secs(t.window);
      const perSeconds = secs(t.per);
      const how = `rate of change of ${t.of} over ${formatDuration(windowSeconds)} per ${formatDuration(perSeconds)}`;
      return { name, kind: 'rate', of: t.of, fn: 'last', windowSeconds, perSeconds, dtype, how };
    }
    case 'threshold': {
      const windowSeconds = secs(t.window);
      const threshold =
        t.above !== undefined ? { op: '>' as const, value: t.above } : { op: '<' as const, value: t.below! };
      const how = `threshold ${current(t.fn, windowSeconds, t.of)} ${threshold.op} ${threshold.value}`;
      return { name, kind: 'threshold', of: t.of, fn: t.fn, windowSeconds, threshold, dtype, how };
    }
    case 'interaction':
      return {
        name,
        kind: 'interaction',
        of: '',
        fn: 'last',
        windowSeconds: 0,
        operands: [t.of[0], t.of[1]],
        dtype,
        how: `interaction ${t.of[0]} × ${t.of[1]}`,
      };
    case 'missing': {
      const windowSeconds = secs(t.window);
      const how = `missing ${t.of} over ${formatDuration(windowSeconds)}`;
      return { name, kind: 'missing', of: t.of, fn: 'count', windowSeconds, dtype, how };
    }
    case 'since': {
      const unitSeconds = SINCE_UNITS[t.unit];
      return {
        name,
        kind: 'since',
        of: t.of,
        fn: 'last',
        windowSeconds: 0,
        unitSeconds,
        dtype,
        how: `time since ${t.of} in ${t.unit}`,
      };
    }
    case 'static':
      return { name, kind: 'static', of: t.of, fn: 'last', windowSeconds: 0, dtype, how: `static ${t.of}` };
  }
}

/**
 * Compile the `features` config section into FeatureViews, checking every transform's
 * measure against the catalogue (`of` must be a measure of it; `static` needs a measure
 * declared static; a view reading `silver/vitals/` or `silver/labs/` can only use measures of
 * that kind). Every problem is reported at once with its path under `path` (default
 * `features`), as `VIGIL_CONFIG_INVALID`. A feature's description carries its transform, so
 * changing a transform changes the definition and the store demands a version bump.
 */
export function compileFeatureDefinitions(
  config: FeaturesConfig | undefined,
  catalog: Catalog = DEFAULT_CATALOG,
  options: { path?: string } = {},
): FeatureDefinitions {
  const prefix = options.path ?? 'features';
  const services = Object.fromEntries(
    (config?.services ?? []).map((s) => [s.name, s.features as FeatureRef[]]),
  );
  if (!config || config.views.length === 0) {
    return { views: adverseEventViews(), windowed: [], services, fromConfig: false };
  }
  const issues: { path: string; message: string }[] = [];
  const joinKeys = new Map(config.entities.map((e) => [e.name, e.joinKey]));
  const views: FeatureView[] = [];
  const windowed: WindowedView[] = [];
  config.views.forEach((v, i) => {
    const entities = v.entities.map((e) => joinKeys.get(e) ?? e);
    const ttlSeconds = durationSeconds(v.ttl) ?? 0;
    const windows: WindowFeature[] = [];
    const features = v.features.map((f, j) => {
      if (!f.transform)
        return { name: f.name, dtype: f.dtype!, ...(f.description ? { description: f.description } : {}) };
      const t = f.transform;
      if (t.kind !== 'interaction') {
        const at = `${prefix}.views.${i}.features.${j}.transform.of`;
        const spec = catalog.measures[t.of];
        if (!spec) {
          issues.push({
            path: at,
            message: `unknown measure '${t.of}' (known: ${Object.keys(catalog.measures).join(', ')})`,
          });
        } else {
          const table = TABLE_OF_KIND[spec.kind];
          const input = v.input?.path;
          if (input && Object.values(TABLE_OF_KIND).includes(input as never) && input !== table) {
            issues.push({
              path: at,
              message: `'${t.of}' is a ${spec.kind}: it is in ${table}, not in ${input}`,
            });
          }
          if (t.kind === 'static' && !spec.static) {
            issues.push({
              path: at,
              message: `'${t.of}' is not a static measure (declare it with static: true)`,
            });
          }
        }
      }
      const compiled = compileTransform(f.name, t);
      windows.push(compiled);
      return {
        name: f.name,
        dtype: f.dtype ?? compiled.dtype,
        description: f.description ? `${f.description} [${compiled.how}]` : compiled.how,
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
  });
  if (issues.length > 0) {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `feature definitions have ${issues.length} problem(s):\n${issues.map((x) => `  - ${x.path}: ${x.message}`).join('\n')}`,
      { details: { issues } },
    );
  }
  return { views, windowed, services, fromConfig: true };
}
