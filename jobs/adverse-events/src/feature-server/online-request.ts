import type { FeatureRef, ScalarValue } from '@vigil/core';

/** A `POST /get-online-features` body, checked. */
export interface OnlineFeaturesRequest {
  features: FeatureRef[];
  entityRows: Record<string, ScalarValue>[];
  fullFeatureNames: boolean;
}

/** A problem with the request: the field it is about and why. */
export class RequestProblem extends Error {
  readonly field: string;
  readonly status: number;

  constructor(field: string, message: string, status = 400) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

const REF = /^[^:\s]+:[^:\s]+$/;
/** Most entity rows one request may ask for. */
export const MAX_ENTITY_ROWS = 10_000;

/**
 * Check a Feast-shaped request: `features` (list of "view:feature") or `feature_service`
 * (a name from `services`), `entities` (join key → equally long lists of strings or
 * integers), optional `full_feature_names`. Unknown fields are ignored, as Feast does.
 */
export function parseOnlineRequest(
  body: unknown,
  services: Readonly<Record<string, FeatureRef[]>>,
): OnlineFeaturesRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestProblem(
      'body',
      'the body must be a JSON object with `features` (or `feature_service`) and `entities`',
    );
  }
  const b = body as Record<string, unknown>;
  let features: FeatureRef[];
  if (b.feature_service !== undefined && b.feature_service !== null) {
    if (b.features !== undefined && !(Array.isArray(b.features) && b.features.length === 0)) {
      throw new RequestProblem('feature_service', 'give either `features` or `feature_service`, not both');
    }
    if (typeof b.feature_service !== 'string')
      throw new RequestProblem('feature_service', 'feature_service must be a string');
    const service = services[b.feature_service];
    if (!service) {
      const known = Object.keys(services).join(', ') || 'none';
      throw new RequestProblem(
        'feature_service',
        `unknown feature service '${b.feature_service}' (defined: ${known})`,
        404,
      );
    }
    features = [...service];
  } else {
    if (!Array.isArray(b.features) || b.features.length === 0) {
      throw new RequestProblem(
        'features',
        'features must be a non-empty list of "view:feature" (or give `feature_service`)',
      );
    }
    b.features.forEach((f, i) => {
      if (typeof f !== 'string' || !REF.test(f)) {
        throw new RequestProblem(
          `features[${i}]`,
          `features[${i}] must be a "view:feature" string, got ${JSON.stringify(f)?.slice(0, 80)}`,
        );
      }
    });
    features = b.features as FeatureRef[];
    features.forEach((f, i) => {
      const first = features.indexOf(f);
      if (first !== i)
        throw new RequestProblem(`features[${i}]`, `features[${i}] repeats features[${first}] (${f})`);
    });
  }
  if (b.full_feature_names !== undefined && typeof b.full_feature_names !== 'boolean') {
    throw new RequestProblem('full_feature_names', 'full_feature_names must be true or false');
  }
  const entities = b.entities;
  if (entities === null || typeof entities !== 'object' || Array.isArray(entities)) {
    throw new RequestProblem(
      'entities',
      'entities must be an object mapping each join key to a list of values',
    );
  }
  const columns = Object.entries(entities as Record<string, unknown>);
  if (columns.length === 0) throw new RequestProblem('entities', 'entities must name at least one join key');
  let length: number | undefined;
  for (const [key, values] of columns) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new RequestProblem(`entities.${key}`, `entities.${key} must be a non-empty list`);
    }
    if (values.length > MAX_ENTITY_ROWS) {
      throw new RequestProblem(
        `entities.${key}`,
        `entities.${key} has ${values.length} values; at most ${MAX_ENTITY_ROWS} per request`,
        413,
      );
    }
    values.forEach((v, i) => {
      if (!(typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)))) {
        throw new RequestProblem(
          `entities.${key}[${i}]`,
          `entities.${key}[${i}] must be a string or an integer`,
        );
      }
    });
    if (length !== undefined && values.length !== length) {
      throw new RequestProblem(
        `entities.${key}`,
        `entities.${key} has ${values.length} values but the other join keys have ${length}`,
      );
    }
    length = values.length;
  }
  const entityRows = Array.from({ length: length! }, (_, i) => {
    const row: Record<string, ScalarValue> = {};
    for (const [key, values] of columns) row[key] = (values as ScalarValue[])[i]!;
    return row;
  });
  return { features, entityRows, fullFeatureNames: b.full_feature_names === true };
}
