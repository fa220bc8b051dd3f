import {
  type EntityFeatures,
  type EntityResolver,
  type FeatureRef,
  type FeatureStore,
  type LoadedModel,
  type RiskExplanation,
  type Trainer,
  topDrivers,
  VigilError,
} from '@vigil/core';
import { denseMatrix } from '../pipeline/training-set.js';
import { onlineInput, refsOf } from '../steps/model-inputs.js';
import { CLINICAL_PHRASES } from './clinical-phrases.js';

const DAY_MS = 86_400_000;

export interface RiskBands {
  /** Lowest probability called `medium`. */
  medium: number;
  /** Lowest probability called `high`. */
  high: number;
}

export interface PatientResolverOptions {
  store: FeatureStore;
  /** Explains scores (capability `explain`); without it the clinician endpoint has no drivers. */
  trainer?: Trainer;
  bands: RiskBands;
}

/** Patients whose history is cached (per patient and day); older entries are dropped. */
const HISTORY_CACHE_SIZE = 10_000;

interface CachedHistory {
  day: number;
  x: Float32Array;
  at: Float64Array;
}

/**
 * The adverse-event job's entity resolver: a patient's features for a model from the online
 * store (`patient_id`), with the time each value was recorded. A row model reads the online row;
 * a sequence model (TCN, ensemble: input `[1, L·d]`) reads it after the patient's L − 1 previous
 * days, taken point-in-time from the offline store at the same hour of the previous days and
 * cached per patient and day. Explanations come from the trainer (exact TreeSHAP for trees, the
 * documented approximations for the TCN and the ensemble) as plain-language drivers.
 */
export class PatientResolver implements EntityResolver {
  readonly entity = 'patient';
  readonly #options: PatientResolverOptions;
  readonly #history = new Map<string, CachedHistory>();

  constructor(options: PatientResolverOptions) {
    if (!(options.bands.medium > 0 && options.bands.medium < options.bands.high && options.bands.high < 1)) {
      throw new VigilError(
        'VIGIL_CONFIG_INVALID',
        `serve.bands: need 0 < medium < high < 1, got medium ${options.bands.medium}, high ${options.bands.high}`,
      );
    }
    this.#options = options;
  }

  async features(model: LoadedModel, ids: readonly string[]): Promise<EntityFeatures> {
    const { artifact } = model;
    const names = artifact.featureNames;
    const { row, timestamps } = await this.#online(names, ids);
    const unknown = timestamps.findIndex((t) => Object.values(t).every((v) => v === null));
    if (unknown >= 0) {
      // The id itself stays out of the message: errors reach logs.
      throw new VigilError(
        'VIGIL_SERVER_UNKNOWN_ENTITY',
        `patient_id[${unknown}]: the online store has no features for this patient`,
      );
    }
    const d = names.length;
    const width = artifact.inputs[0]?.shape[1] ?? d;
    if (width === d) return { x: row, timestamps };
    // Sequence model: each patient's L − 1 previous days before their latest online values.
    const steps = width / d;
    const nows = timestamps.map((t) => latest(t));
    const history = await this.#historyOf(model, ids, nows, steps - 1);
    const x = new Float32Array(ids.length * width);
    for (let i = 0; i < ids.length; i++) {
      const h = history[i]!;
      x.set(
        onlineInput(
          artifact,
          { x: row.subarray(i * d, (i + 1) * d), patientIds: [ids[i]!] },
          { x: h.x, groups: Array.from({ length: h.at.length }, () => ids[i]!), at: h.at },
          nows[i]!,
        ),
        i * width,
      );
    }
    return { x, timestamps };
  }

  /**
   * The patients' online rows (features in `names` order) and when their values were recorded:
   * dense from the store where it can (`getOnlineMatrix`: one time per view and patient), else
   * from its rows.
   */
  async #online(
    names: readonly string[],
    ids: readonly string[],
  ): Promise<{ row: Float32Array; timestamps: Record<string, string | null>[] }> {
    const { store } = this.#options;
    const plan = readPlanOf(names);
    const request = {
      features: plan.refs as FeatureRef[],
      entityRows: ids.map((patient_id) => ({ patient_id })),
      fullFeatureNames: true,
    };
    if (store.capabilities.onlineMatrix && store.getOnlineMatrix) {
      const m = await store.getOnlineMatrix(request);
      if (m.features.length === names.length && m.features.every((name, j) => name === names[j])) {
        const v = m.views.length;
        const timestamps = ids.map((_, i) => {
          const out: Record<string, string | null> = {};
          for (let r = 0; r < v; r++) {
            const t = m.eventTimes[i * v + r]!;
            out[m.views[r]!] = Number.isNaN(t) ? null : new Date(t).toISOString();
          }
          return out;
        });
        return { row: m.x, timestamps };
      }
    }
    const online = await store.getOnlineFeatures(request);
    return {
      row: denseMatrix(online.rows, names),
      timestamps: ids.map((_, i) => timestampsOf(plan, online.eventTimestamps?.[i])),
    };
  }

  async explain(model: LoadedModel, x: Float32Array, k: number): Promise<RiskExplanation> {
    const trainer = this.#options.trainer;
    if (!trainer?.explain || !trainer.capabilities.explain) {
      throw new VigilError('VIGIL_EXPLAIN_UNSUPPORTED', 'the configured trainer cannot explain scores');
    }
    const attributions = await trainer.explain(model.artifact, x, 1);
    const drivers = topDrivers(attributions, 0, attributions.featureNames, CLINICAL_PHRASES, k);
    return {
      method: attributions.method,
      base: attributions.base,
      logit: attributions.raw[0]!,
      drivers: drivers.map((driver) => ({
        feature: driver.feature,
        value: Number.isNaN(driver.value) ? null : driver.value,
        contribution: driver.contribution,
        direction: driver.direction,
        text: driver.text,
      })),
    };
  }

  band(probability: number): string {
    const { medium, high } = this.#options.bands;
    return probability >= high ? 'high' : probability >= medium ? 'medium' : 'low';
  }

  /** The previous `count` daily rows of each patient (oldest first), point-in-time, cached per day. */
  async #historyOf(
    model: LoadedModel,
    ids: readonly string[],
    nows: readonly number[],
    count: number,
  ): Promise<CachedHistory[]> {
    const names = model.artifact.featureNames;
    const out: (CachedHistory | undefined)[] = ids.map((id, i) => {
      const cached = this.#history.get(`${model.version}:${id}`);
      return cached && cached.day === Math.floor(nows[i]! / DAY_MS) ? cached : undefined;
    });
    const missing = ids.map((_, i) => i).filter((i) => out[i] === undefined);
    if (missing.length > 0 && count > 0) {
      const entityRows = missing.flatMap((i) =>
        Array.from({ length: count }, (_, k) => ({
          patient_id: ids[i]!,
          event_timestamp: new Date(nows[i]! - (count - k) * DAY_MS),
        })),
      );
      const result = await this.#options.store.getHistoricalFeatures({
        entityRows,
        features: readPlanOf(names).refs as FeatureRef[],
        fullFeatureNames: true,
      });
      const all = denseMatrix(result.rows, names);
      const d = names.length;
      missing.forEach((i, m) => {
        const entry: CachedHistory = {
          day: Math.floor(nows[i]! / DAY_MS),
          x: all.slice(m * count * d, (m + 1) * count * d),
          at: Float64Array.from({ length: count }, (_, k) => nows[i]! - (count - k) * DAY_MS),
        };
        const key = `${model.version}:${ids[i]!}`;
        this.#history.delete(key);
        this.#history.set(key, entry);
        out[i] = entry;
      });
      while (this.#history.size > HISTORY_CACHE_SIZE)
        this.#history.delete(this.#history.keys().next().value!);
    }
    return out.map((h) => h ?? { day: 0, x: new Float32Array(0), at: new Float64Array(0) });
  }
}

/** How a model's features are read online: its feature refs, and its features by view. */
interface ReadPlan {
  /** Frozen, so the store can reuse its resolved plan by identity. */
  refs: readonly FeatureRef[];
  views: { view: string; names: string[] }[];
}

/** Per model feature list (a loaded model keeps its array): the refs and the features by view. */
const READ_PLANS = new WeakMap<readonly string[], ReadPlan>();

function readPlanOf(names: readonly string[]): ReadPlan {
  let plan = READ_PLANS.get(names);
  if (!plan) {
    const refs = Object.freeze(refsOf(names));
    const byView = new Map<string, string[]>();
    names.forEach((name, i) => {
      const view = refs[i]!.slice(0, refs[i]!.indexOf(':'));
      const list = byView.get(view) ?? [];
      list.push(name);
      byView.set(view, list);
    });
    plan = { refs, views: [...byView].map(([view, list]) => ({ view, names: list })) };
    READ_PLANS.set(names, plan);
  }
  return plan;
}

/**
 * When each of a patient's values was recorded: one ISO time per feature view whose features
 * all share one time (the store keeps one event time per view and entity, so this is the
 * usual case, and the answer stays small), keyed by the view's name; otherwise one per
 * feature of that view, keyed by the feature's name. Null where the store had nothing.
 */
function timestampsOf(
  plan: ReadPlan,
  stamps: Record<string, Date | null> | undefined,
): Record<string, string | null> {
  const at = (name: string): Date | null => stamps?.[name] ?? stamps?.[name.replace('__', ':')] ?? null;
  const out: Record<string, string | null> = {};
  for (const { view, names } of plan.views) {
    const first = at(names[0]!);
    const time = first ? first.getTime() : null;
    let shared = true;
    for (let k = 1; k < names.length && shared; k++) {
      const other = at(names[k]!);
      shared = (other ? other.getTime() : null) === time;
    }
    if (shared) {
      out[view] = first ? first.toISOString() : null;
    } else {
      for (const name of names) out[name] = at(name)?.toISOString() ?? null;
    }
  }
  return out;
}

/** The latest feature time of a row (ms), or now when the store had none. */
function latest(timestamps: Record<string, string | null>): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const t of Object.values(timestamps)) if (t !== null) best = Math.max(best, Date.parse(t));
  return Number.isFinite(best) ? best : Date.now();
}
