import { describe, invalid } from './parse-request.js';

/** Most entity ids one request may carry. */
export const MAX_ENTITY_IDS = 10_000;
/** Longest entity id accepted, in characters. */
export const MAX_ENTITY_ID_LENGTH = 256;

/** Name of the single input of a request, when it has exactly one named input. */
export function singleInputName(request: unknown): string | undefined {
  if (request === null || typeof request !== 'object') return undefined;
  const inputs = (request as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1) return undefined;
  const first = inputs[0] as unknown;
  if (first === null || typeof first !== 'object') return undefined;
  const name = (first as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * The entity ids of a request whose one input is `<entity>_id`: datatype BYTES, shape `[n]`
 * or `[n, 1]`, data `n` non-empty strings (flat, or nested one level).
 */
export function parseEntityIds(request: unknown, inputName: string): string[] {
  const tensor = (request as { inputs: Record<string, unknown>[] }).inputs[0]!;
  const field = 'inputs[0]';
  const { datatype, shape, data } = tensor;
  if (datatype !== 'BYTES') {
    throw invalid(
      `${field}.datatype: the entity id input '${inputName}' must be BYTES, got ${JSON.stringify(datatype)}`,
    );
  }
  if (
    !Array.isArray(shape) ||
    !(shape.length === 1 || (shape.length === 2 && shape[1] === 1)) ||
    !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw invalid(
      `${field}.shape: the entity id input '${inputName}' must have shape [n] or [n, 1], got ${JSON.stringify(shape)}`,
    );
  }
  const n = shape[0] as number;
  if (n < 1 || n > MAX_ENTITY_IDS) {
    throw invalid(`${field}.shape: between 1 and ${MAX_ENTITY_IDS} entity ids per request, got ${n}`);
  }
  if (!Array.isArray(data))
    throw invalid(`${field}.data: expected an array of ${n} ids, got ${describe(data)}`);
  const flat = data.length > 0 && Array.isArray(data[0]) ? (data as unknown[]).flat() : (data as unknown[]);
  if (flat.length !== n) throw invalid(`${field}.data: ${flat.length} ids for shape [${n}]`);
  return flat.map((id, i) => {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ENTITY_ID_LENGTH) {
      throw invalid(
        `${field}.data[${i}]: expected an entity id (a string of 1 to ${MAX_ENTITY_ID_LENGTH} characters), got ${typeof id === 'string' ? `a string of ${id.length} characters` : describe(id)}`,
      );
    }
    return id;
  });
}

/** The request `parameters` the server reads. */
export interface RequestParameters {
  /** `parameters.timestamp`: the (possibly simulated) time of the request. */
  at: Date | undefined;
  /** `parameters.entity_id`: one id for every row, or one per row (matrix requests). */
  entityIds: string | readonly string[] | undefined;
  /** `parameters.site`: the segment (e.g. trial site) of every row, for per-site monitoring (matrix requests). */
  site?: string | undefined;
}

export function parseRequestParameters(request: unknown): RequestParameters {
  const parameters = (request as { parameters?: unknown }).parameters;
  if (parameters === undefined) return { at: undefined, entityIds: undefined, site: undefined };
  if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw invalid(`parameters: expected an object, got ${describe(parameters)}`);
  }
  const { timestamp, entity_id, site } = parameters as Record<string, unknown>;
  if (
    site !== undefined &&
    !(typeof site === 'string' && site.length > 0 && site.length <= MAX_ENTITY_ID_LENGTH)
  ) {
    throw invalid(
      `parameters.site: expected a site name (a string of 1 to ${MAX_ENTITY_ID_LENGTH} characters), got ${describe(site)}`,
    );
  }
  let at: Date | undefined;
  if (timestamp !== undefined) {
    const ms = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
    if (!Number.isFinite(ms)) {
      throw invalid(`parameters.timestamp: expected an ISO 8601 time, got ${describe(timestamp)}`);
    }
    at = new Date(ms);
  }
  let entityIds: RequestParameters['entityIds'];
  if (entity_id !== undefined) {
    const ok = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= MAX_ENTITY_ID_LENGTH;
    if (ok(entity_id)) entityIds = entity_id as string;
    else if (Array.isArray(entity_id) && entity_id.every(ok)) entityIds = entity_id as string[];
    else {
      throw invalid(
        `parameters.entity_id: expected an entity id or an array of them (strings of 1 to ${MAX_ENTITY_ID_LENGTH} characters), got ${describe(entity_id)}`,
      );
    }
  }
  return { at, entityIds, site: site as string | undefined };
}
