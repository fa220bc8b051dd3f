import type { Rng, RouteSpec } from '@vigil/core';
import { createRng, VigilError } from '@vigil/core';
import { hashRouteKey } from './route-key-hash.js';

/** A validated route, compiled for the hot path. */
interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly versions: readonly string[];
  /** Cumulative split: version i answers u in [cumulative[i-1], cumulative[i]). */
  readonly cumulative: Float64Array;
  readonly mirror: { readonly version: string; readonly fraction: number } | undefined;
}

interface ModelRoutes {
  /** Oldest first; the last entry is the current route. */
  readonly history: CompiledRoute[];
  readonly rng: Rng;
  readonly mirrorRng: Rng;
}

/** How many past routes a model keeps for rollback. */
export const ROUTE_HISTORY_LIMIT = 100;

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_SERVER_INVALID_ROUTE', message);
}

function copySpec(spec: RouteSpec): RouteSpec {
  const copy: RouteSpec = {
    candidates: spec.candidates.map((c) => ({ version: c.version, weight: c.weight })),
  };
  if (spec.mirror) copy.mirror = { version: spec.mirror.version, percent: spec.mirror.percent };
  return copy;
}

function compile(name: string, spec: RouteSpec, isLoaded: (version: string) => boolean): CompiledRoute {
  if (spec === null || typeof spec !== 'object') throw invalid(`route ${name}: spec must be an object`);
  const { candidates, mirror } = spec;
  if (!Array.isArray(candidates) || candidates.length === 0) {
    throw invalid(`route ${name}: spec.candidates must be a non-empty array`);
  }
  const seen = new Set<string>();
  let total = 0;
  candidates.forEach((c, i) => {
    const field = `route ${name}: spec.candidates[${i}]`;
    if (c === null || typeof c !== 'object' || typeof c.version !== 'string') {
      throw invalid(`${field}.version: must be a string`);
    }
    if (!isLoaded(c.version)) throw invalid(`${field}.version: version '${c.version}' is not loaded`);
    if (seen.has(c.version)) throw invalid(`${field}.version: version '${c.version}' is listed twice`);
    seen.add(c.version);
    if (typeof c.weight !== 'number' || !Number.isFinite(c.weight) || c.weight < 0) {
      throw invalid(`${field}.weight: must be a finite number >= 0, got ${String(c.weight)}`);
    }
    total += c.weight;
  });
  if (!(total > 0)) throw invalid(`route ${name}: spec.candidates weights must have a positive sum`);
  let compiledMirror: CompiledRoute['mirror'];
  if (mirror !== undefined) {
    if (mirror === null || typeof mirror !== 'object' || typeof mirror.version !== 'string') {
      throw invalid(`route ${name}: spec.mirror.version: must be a string`);
    }
    if (!isLoaded(mirror.version)) {
      throw invalid(`route ${name}: spec.mirror.version: version '${mirror.version}' is not loaded`);
    }
    const { percent } = mirror;
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw invalid(
        `route ${name}: spec.mirror.percent: must be a number in [0, 100], got ${String(percent)}`,
      );
    }
    compiledMirror = { version: mirror.version, fraction: percent / 100 };
  }
  const cumulative = new Float64Array(candidates.length);
  let acc = 0;
  candidates.forEach((c, i) => {
    acc += c.weight / total;
    cumulative[i] = acc;
  });
  // Guard against rounding: the last range with a positive weight reaches 1.
  for (let i = candidates.length - 1; i >= 0; i--) {
    cumulative[i] = 1;
    if (candidates[i]!.weight > 0) break;
  }
  return {
    spec: copySpec(spec),
    versions: candidates.map((c) => c.version),
    cumulative,
    mirror: compiledMirror,
  };
}

/**
 * Routes per model name, in Seldon's experiment vocabulary (weighted candidates plus a
 * mirror), with a history for rollback. Choices use a seeded RNG per model, or a hash of
 * the route key when one is given (sticky).
 */
export class RouteTable {
  readonly #seed: number;
  readonly #models = new Map<string, ModelRoutes>();

  constructor(seed: number) {
    this.#seed = seed;
  }

  /** Validate and install a route; the previous one goes to the history. */
  set(name: string, spec: RouteSpec, isLoaded: (version: string) => boolean): void {
    const compiled = compile(name, spec, isLoaded);
    let routes = this.#models.get(name);
    if (!routes) {
      const rng = createRng(this.#seed).fork(`route:${name}`);
      routes = { history: [], rng, mirrorRng: rng.fork('mirror') };
      this.#models.set(name, routes);
    }
    routes.history.push(compiled);
    if (routes.history.length > ROUTE_HISTORY_LIMIT) routes.history.shift();
  }

  /** A copy of the current route, or undefined. */
  get(name: string): RouteSpec | undefined {
    const current = this.#current(name);
    return current ? copySpec(current.spec) : undefined;
  }

  /** Go back to the previous route; its versions must still be loaded. */
  rollback(name: string, isLoaded: (version: string) => boolean): RouteSpec {
    const history = this.#models.get(name)?.history ?? [];
    const previous = history[history.length - 2];
    if (!previous) throw invalid(`route ${name}: there is no previous route to roll back to`);
    const missing = [...previous.versions, ...(previous.mirror ? [previous.mirror.version] : [])].filter(
      (v) => !isLoaded(v),
    );
    if (missing.length > 0) {
      throw invalid(
        `route ${name}: the previous route uses versions no longer loaded: ${missing.join(', ')}`,
      );
    }
    history.pop();
    return copySpec(previous.spec);
  }

  /** Whether the current route of `name` sends traffic (or mirror copies) to `version`. */
  uses(name: string, version: string): boolean {
    const current = this.#current(name);
    if (!current) return false;
    return current.versions.includes(version) || current.mirror?.version === version;
  }

  /** The version that answers the next request, or undefined when the model has no route. */
  pick(name: string, routeKey?: string): string | undefined {
    const routes = this.#models.get(name);
    const current = routes?.history[routes.history.length - 1];
    if (!routes || !current) return undefined;
    const { versions, cumulative } = current;
    if (versions.length === 1) return versions[0];
    const u = routeKey === undefined ? routes.rng.next() : hashRouteKey(routeKey);
    for (let i = 0; i < cumulative.length; i++) {
      if (u < cumulative[i]!) return versions[i];
    }
    return versions[versions.length - 1];
  }

  /** The mirror version that should receive a copy of the next request, if any. */
  mirror(name: string): string | undefined {
    const routes = this.#models.get(name);
    const mirror = routes?.history[routes.history.length - 1]?.mirror;
    if (!routes || !mirror || mirror.fraction === 0) return undefined;
    if (mirror.fraction >= 1 || routes.mirrorRng.next() < mirror.fraction) return mirror.version;
    return undefined;
  }

  #current(name: string): CompiledRoute | undefined {
    const history = this.#models.get(name)?.history;
    return history?.[history.length - 1];
  }
}
