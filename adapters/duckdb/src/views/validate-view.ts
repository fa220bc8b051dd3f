import { type EntityDtype, type FeatureView, VigilError } from '@vigil/core';
import { FEATURE_DTYPES, isFeatureDtype } from '../sql/dtype.js';

const VIEW_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Join-key dtypes (`entityDtypes`): those Feast's entity key encodes. */
export const ENTITY_DTYPES: readonly EntityDtype[] = ['string', 'int64', 'int32'];

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/**
 * Every problem with a view definition, each naming the field and the reason. Empty when
 * the view is valid. View names are identifiers because they become column prefixes
 * (`view__feature`) and file names of the online journal.
 */
export function viewProblems(view: FeatureView): string[] {
  const problems: string[] = [];
  const v = view as Partial<FeatureView> & Record<string, unknown>;
  if (!isNonEmptyString(v.name) || !VIEW_NAME.test(v.name)) {
    problems.push(
      `name must match ${VIEW_NAME} (letters, digits, underscore), got ${JSON.stringify(v.name)}`,
    );
  }
  if (!Array.isArray(v.entities) || v.entities.length === 0) {
    problems.push('entities must be a non-empty list of join keys');
  } else {
    v.entities.forEach((key, i) => {
      if (!isNonEmptyString(key)) problems.push(`entities[${i}] must be a non-empty string`);
    });
    if (new Set(v.entities).size !== v.entities.length) problems.push('entities has duplicate join keys');
  }
  if (v.entityDtypes !== undefined) {
    if (typeof v.entityDtypes !== 'object' || v.entityDtypes === null || Array.isArray(v.entityDtypes)) {
      problems.push('entityDtypes must be an object mapping join keys to dtypes when given');
    } else {
      for (const [key, dtype] of Object.entries(v.entityDtypes)) {
        if (!Array.isArray(v.entities) || !v.entities.includes(key)) {
          problems.push(`entityDtypes names '${key}', which is not one of the entities`);
        }
        if (!(ENTITY_DTYPES as readonly unknown[]).includes(dtype)) {
          problems.push(
            `entityDtypes.${key} must be one of ${ENTITY_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`,
          );
        }
      }
    }
  }
  if (!Array.isArray(v.features) || v.features.length === 0) {
    problems.push('features must be a non-empty list');
  } else {
    const seen = new Set<string>();
    v.features.forEach((feature, i) => {
      const name = (feature as { name?: unknown } | null)?.name;
      if (!isNonEmptyString(name) || name.includes(':')) {
        problems.push(`features[${i}].name must be a non-empty string without ':'`);
      } else {
        if (seen.has(name)) problems.push(`features[${i}].name '${name}' is duplicated`);
        seen.add(name);
        if (Array.isArray(v.entities) && v.entities.includes(name)) {
          problems.push(`features[${i}].name '${name}' is also a join key`);
        }
      }
      const dtype = (feature as { dtype?: unknown } | null)?.dtype;
      if (!isFeatureDtype(dtype)) {
        problems.push(
          `features[${i}].dtype must be one of ${FEATURE_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`,
        );
      }
    });
  }
  if (typeof v.ttlSeconds !== 'number' || !Number.isFinite(v.ttlSeconds) || v.ttlSeconds < 0) {
    problems.push(`ttlSeconds must be a finite number >= 0 (0 = unbounded), got ${String(v.ttlSeconds)}`);
  }
  if (typeof v.version !== 'number' || !Number.isInteger(v.version) || v.version < 0) {
    problems.push(`version must be an integer >= 0, got ${String(v.version)}`);
  }
  const source = v.source as Partial<FeatureView['source']> | undefined;
  if (typeof source !== 'object' || source === null) {
    problems.push('source must be an object { path, timestampField, createdTimestampField? }');
  } else {
    if (!isNonEmptyString(source.path)) problems.push('source.path must be a non-empty lake path');
    if (!isNonEmptyString(source.timestampField)) {
      problems.push('source.timestampField must be a non-empty column name');
    }
    if (source.createdTimestampField !== undefined && !isNonEmptyString(source.createdTimestampField)) {
      problems.push('source.createdTimestampField must be a non-empty column name when given');
    }
  }
  return problems;
}

/** Throw `VIGIL_FEATURE_INVALID_REQUEST` listing every problem of every view, or return. */
export function assertValidViews(views: readonly FeatureView[]): void {
  if (!Array.isArray(views)) {
    throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', 'apply: views must be an array of feature views');
  }
  const messages: string[] = [];
  const names = new Set<string>();
  views.forEach((view, i) => {
    const label = `view '${String(view?.name)}' (views[${i}])`;
    for (const problem of viewProblems(view)) messages.push(`${label}: ${problem}`);
    if (names.has(view?.name)) messages.push(`${label}: name appears twice in one apply`);
    names.add(view?.name);
  });
  if (messages.length > 0) {
    throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `apply: ${messages.join('; ')}`, {
      details: { problems: messages },
    });
  }
}

/** JSON with sorted object keys and `undefined` members dropped: equal definitions give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
