/**
 * Deterministic monitor traffic for tests: predictions spread over days, two versions,
 * three sites, latencies, a few fallbacks, two features, and delayed outcomes for most.
 */
import {
  type DatasetDriftResult,
  datasetDrift,
  type OutcomeRecord,
  type PredictionRecord,
} from '@vigil/core';

export const DATA_T0 = Date.UTC(2025, 2, 1, 0, 0, 0);

/** A small LCG in [0, 1): the same numbers on every run. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export interface Traffic {
  /** Features by name (the records' other form, `FeatureRow`, is what servers emit). */
  predictions: (Omit<PredictionRecord, 'features'> & { features: Record<string, number | null> })[];
  outcomes: OutcomeRecord[];
}

/**
 * `n` predictions of `model`, one every `stepMinutes` from DATA_T0; every 5th is version 2;
 * site A/B/C by turn; latency 1–120 ms; fallback on every 37th; outcomes (drawn with the
 * score as probability) for 80 % of them.
 */
export function traffic(
  model: string,
  n: number,
  options: { stepMinutes?: number; seed?: number } = {},
): Traffic {
  const random = lcg(options.seed ?? 7);
  const step = (options.stepMinutes ?? 36) * 60_000;
  const predictions: Traffic['predictions'] = [];
  const outcomes: OutcomeRecord[] = [];
  for (let i = 0; i < n; i++) {
    const score = Math.round(random() * 1000) / 1000;
    const at = new Date(DATA_T0 + i * step);
    const id = `${model}-pred-${i}`;
    predictions.push({
      predictionId: id,
      model,
      version: i % 5 === 4 ? '2' : '1',
      entityKey: `PATIENT-${model}-${i}`,
      score,
      at,
      site: ['A', 'B', 'C'][i % 3]!,
      latencyMs: 1 + Math.floor(random() * 120),
      fallback: i % 37 === 0,
      features: {
        hr: 60 + Math.round(random() * 40),
        lactate: i % 11 === 0 ? null : Math.round(random() * 40) / 10,
      },
    });
    const labelled = random() < 0.8;
    const positive = random() < score;
    if (labelled)
      outcomes.push({ predictionId: id, label: positive ? 1 : 0, at: new Date(+at + 3 * 86_400_000) });
  }
  return { predictions, outcomes };
}

/** AUROC by counting every positive/negative pair (ties half): the definition, no ranking. */
export function pairCountAuroc(scores: readonly number[], labels: readonly number[]): number | null {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins++;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return pairs === 0 ? null : wins / pairs;
}

/** Core's `datasetDrift` (Evidently's selection, share 0.5) of `hr` and `lactate` on the raw records: a test's oracle, not the monitor's code. */
export function rawFeatureDrift(
  reference: Traffic['predictions'],
  current: Traffic['predictions'],
): DatasetDriftResult {
  return datasetDrift(
    ['hr', 'lactate'].map((name) => ({
      name,
      reference: reference.map((p) => p.features[name] ?? null),
      current: current.map((p) => p.features[name] ?? null),
    })),
    { driftShare: 0.5 },
  );
}
