import { type FeatureDtype, type FeatureRef, type FeatureView, VigilError } from '@vigil/core';
import type { ViewRegistry } from './view-registry.js';

/** A resolved `view:feature` reference. */
export interface ResolvedFeature {
  view: FeatureView;
  /** Index of the feature in `view.features`. */
  index: number;
  dtype: FeatureDtype;
  /** Output column: `view__feature` with full names, else `feature`. */
  column: string;
}

/** Resolve `view:feature` references against the registry, rejecting unknown ones and clashing column names. */
export function resolveFeatures(
  registry: ViewRegistry,
  features: readonly FeatureRef[],
  fullNames: boolean,
): ResolvedFeature[] {
  if (!Array.isArray(features) || features.length === 0) {
    throw new VigilError(
      'VIGIL_FEATURE_INVALID_REQUEST',
      'features must be a non-empty list of "view:feature"',
    );
  }
  const columns = new Map<string, string>();
  return features.map((ref) => {
    const sep = typeof ref === 'string' ? ref.indexOf(':') : -1;
    if (sep <= 0 || sep === ref.length - 1) {
      throw new VigilError(
        'VIGIL_FEATURE_INVALID_REQUEST',
        `feature reference ${JSON.stringify(ref)} is not "view:feature"`,
      );
    }
    const viewName = ref.slice(0, sep);
    const feature = ref.slice(sep + 1);
    const view = registry.require(viewName);
    const index = view.features.findIndex((f) => f.name === feature);
    if (index < 0) {
      throw new VigilError(
        'VIGIL_FEATURE_UNKNOWN_VIEW',
        `feature view '${viewName}' has no feature '${feature}' (has: ${view.features.map((f) => f.name).join(', ')})`,
      );
    }
    const column = fullNames ? `${viewName}__${feature}` : feature;
    const previous = columns.get(column);
    if (previous !== undefined) {
      throw new VigilError(
        'VIGIL_FEATURE_INVALID_REQUEST',
        `features '${previous}' and '${ref}' both map to column '${column}'${fullNames ? '' : '; use fullFeatureNames'}`,
      );
    }
    columns.set(column, ref);
    return { view, index, dtype: view.features[index]!.dtype, column };
  });
}
