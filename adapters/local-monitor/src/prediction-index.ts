import type { FeatureRow } from '@vigil/core';

/**
 * The monitor's in-memory view of its journals: every prediction by id, and per model its
 * predictions ordered by time, so a window is two binary searches instead of a scan of the
 * whole history. Outcomes join their prediction by id; one that arrives first waits in
 * `#outcomes` until its prediction does. A shadow answer (`shadowOf`) joins the outcome of the
 * served prediction it shadows; selections without a version leave shadows out (they were never
 * served), selections of a version include its shadow answers.
 */

export interface IndexedPrediction {
  id: string;
  model: string;
  version: string;
  site: string | undefined;
  score: number;
  /** Epoch milliseconds. */
  at: number;
  latencyMs: number | undefined;
  fallback: boolean;
  /** A row of the monitor's feature store (see feature-rows.ts). */
  features: FeatureRow | undefined;
  /** The joined outcome's label; undefined while none has arrived. */
  label: 0 | 1 | undefined;
  /** For a shadow (mirror) answer: the served prediction whose outcome it takes. */
  shadowOf?: string | undefined;
}

export interface StoredOutcome {
  label: 0 | 1;
  at: number;
}

/** The predictions of one model, kept sorted by `at` (sorted lazily after out-of-order arrivals). */
class ModelSeries {
  readonly rows: IndexedPrediction[] = [];
  readonly versions = new Set<string>();
  readonly sites = new Set<string>();
  latest = Number.NEGATIVE_INFINITY;
  earliest = Number.POSITIVE_INFINITY;
  /** Bumped on every new prediction or joined outcome: cached summaries compare it. */
  generation = 0;
  #sorted = true;

  add(row: IndexedPrediction): void {
    const last = this.rows[this.rows.length - 1];
    if (last !== undefined && row.at < last.at) this.#sorted = false;
    this.rows.push(row);
    this.versions.add(row.version);
    if (row.site !== undefined) this.sites.add(row.site);
    if (row.at > this.latest) this.latest = row.at;
    if (row.at < this.earliest) this.earliest = row.at;
    this.generation++;
  }

  /** Rows with since ≤ at < until, in time order. */
  range(since: number, until: number): IndexedPrediction[] {
    if (!this.#sorted) {
      this.rows.sort((a, b) => a.at - b.at);
      this.#sorted = true;
    }
    return this.rows.slice(this.#lowerBound(since), this.#lowerBound(until));
  }

  /** First index whose `at` is ≥ t. */
  #lowerBound(t: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid]!.at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export interface Selection {
  model: string;
  version?: string;
  site?: string;
  /** Inclusive, epoch ms. */
  since: number;
  /** Exclusive, epoch ms. */
  until: number;
}

export class PredictionIndex {
  readonly #byId = new Map<string, IndexedPrediction>();
  readonly #outcomes = new Map<string, StoredOutcome>();
  readonly #models = new Map<string, ModelSeries>();
  /** Shadow answers by the served prediction whose outcome they take. */
  readonly #shadows = new Map<string, IndexedPrediction[]>();

  hasPrediction(id: string): boolean {
    return this.#byId.has(id);
  }

  hasOutcome(id: string): boolean {
    return this.#outcomes.has(id);
  }

  prediction(id: string): IndexedPrediction | undefined {
    return this.#byId.get(id);
  }

  /** Add a prediction (the caller checked it is new); joins an outcome that came first. */
  addPrediction(row: IndexedPrediction): void {
    const outcome = this.#outcomes.get(row.shadowOf ?? row.id);
    if (outcome !== undefined) row.label = outcome.label;
    if (row.shadowOf !== undefined) {
      const shadows = this.#shadows.get(row.shadowOf);
      if (shadows) shadows.push(row);
      else this.#shadows.set(row.shadowOf, [row]);
    }
    this.#byId.set(row.id, row);
    let series = this.#models.get(row.model);
    if (series === undefined) {
      series = new ModelSeries();
      this.#models.set(row.model, series);
    }
    series.add(row);
  }

  /** Add an outcome (the caller checked it is new); joins its prediction when known. */
  addOutcome(id: string, outcome: StoredOutcome): void {
    this.#outcomes.set(id, outcome);
    const row = this.#byId.get(id);
    for (const joined of [...(row ? [row] : []), ...(this.#shadows.get(id) ?? [])]) {
      joined.label = outcome.label;
      const series = this.#models.get(joined.model);
      if (series) series.generation++;
    }
  }

  models(): string[] {
    return [...this.#models.keys()];
  }

  /** Versions, sites, earliest and latest prediction time and change counter of a model. */
  summary(model: string): {
    versions: string[];
    sites: string[];
    earliest: number;
    latest: number;
    generation: number;
  } {
    const series = this.#models.get(model);
    if (!series)
      return {
        versions: [],
        sites: [],
        earliest: Number.POSITIVE_INFINITY,
        latest: Number.NEGATIVE_INFINITY,
        generation: 0,
      };
    return {
      versions: [...series.versions].sort(),
      sites: [...series.sites].sort(),
      earliest: series.earliest,
      latest: series.latest,
      generation: series.generation,
    };
  }

  /** The predictions matching a selection, in time order. */
  select(selection: Selection): IndexedPrediction[] {
    const series = this.#models.get(selection.model);
    if (!series || !(selection.since < selection.until)) return [];
    const rows = series.range(selection.since, selection.until);
    const { version, site } = selection;
    return rows.filter(
      (r) =>
        (version === undefined ? r.shadowOf === undefined : r.version === version) &&
        (site === undefined || r.site === site),
    );
  }
}
