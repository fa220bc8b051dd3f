import { auroc, type ModelArtifact, type Trainer, type TrainingSet, toSequences } from '@vigil/core';
import { splitPatients } from '../pipeline/training-set.js';
import type { Params } from './search-space.js';

/** A training set, optionally with each row's prediction time (a sequence model reads the patient's history by it). */
export type RowSet = TrainingSet & { at?: Float64Array };

/** One fold: row indices (into the set) to train on and to score. */
export interface FoldRows {
  train: readonly number[];
  test: readonly number[];
}

/** The rows `rows` of `set`, in that order, with their features, labels, patients and times. */
export function rowSubset<T extends RowSet>(set: T, rows: readonly number[]): T {
  const d = set.featureNames.length;
  const x = new Float32Array(rows.length * d);
  rows.forEach((src, dst) => {
    x.set(set.x.subarray(src * d, src * d + d), dst * d);
  });
  return {
    ...set,
    x,
    y: Uint8Array.from(rows, (i) => set.y[i]!),
    groups: rows.map((i) => set.groups[i]!),
    ...(set.at ? { at: Float64Array.from(rows, (i) => set.at![i]!) } : {}),
  };
}

/** What an artifact scores for `set`: its rows, or (a sequence model, input [N, L·d]) their sequences. */
export function scoringInput(artifact: ModelArtifact, set: RowSet): Float32Array {
  const d = set.featureNames.length;
  const cols = artifact.inputs[0]?.shape[1] ?? d;
  if (cols === d || cols <= 0 || cols % d !== 0) return set.x;
  const at = set.at ? Array.from(set.at) : undefined;
  return toSequences(
    { featureNames: set.featureNames, x: set.x, groups: set.groups, ...(at ? { at } : {}) },
    cols / d,
  );
}

interface PreparedFold {
  train: RowSet;
  validation: RowSet;
  test: RowSet;
}

/** Share of a fold's training patients held out for early stopping (as cross-validate does). */
export const VALIDATION_FRACTION = 0.15;

/**
 * Scores params by the mean AUROC over patient-grouped folds, through the Trainer port:
 * per fold, train on the fold's training patients less 15 % of them (the validation
 * patients the trainer early-stops on), score the fold's test rows. The fold sets are cut
 * once, up front. A fold whose AUROC is undefined (one class) is left out of the mean; with
 * none left the score is null.
 */
export class FoldScorer {
  readonly #trainer: Trainer;
  readonly #folds: PreparedFold[];
  readonly #algorithm: string;
  readonly #seed: number;
  readonly #signal: AbortSignal | undefined;

  constructor(
    trainer: Trainer,
    set: RowSet,
    folds: readonly FoldRows[],
    options: { algorithm: string; seed: number; signal?: AbortSignal },
  ) {
    this.#trainer = trainer;
    this.#algorithm = options.algorithm;
    this.#seed = options.seed;
    this.#signal = options.signal;
    this.#folds = folds.map((fold) => {
      const patients = [...new Set(fold.train.map((i) => set.groups[i]!))];
      const [validation] = splitPatients(patients, [VALIDATION_FRACTION], options.seed) as [
        string[],
        string[],
      ];
      const isValidation = new Set(validation);
      return {
        train: rowSubset(
          set,
          fold.train.filter((i) => !isValidation.has(set.groups[i]!)),
        ),
        validation: rowSubset(
          set,
          fold.train.filter((i) => isValidation.has(set.groups[i]!)),
        ),
        test: rowSubset(set, fold.test),
      };
    });
  }

  get folds(): number {
    return this.#folds.length;
  }

  /** Mean AUROC of `params` over the folds (null when no fold has both classes). */
  async score(params: Params): Promise<number | null> {
    const aurocs: number[] = [];
    for (const fold of this.#folds) {
      const result = await this.#trainer.train(
        fold.train,
        { algorithm: this.#algorithm, params, seed: this.#seed },
        { validation: fold.validation, ...(this.#signal ? { signal: this.#signal } : {}) },
      );
      const scores = await this.#trainer.predict(
        result.artifact,
        scoringInput(result.artifact, fold.test),
        fold.test.y.length,
      );
      const a = auroc(scores, fold.test.y);
      if (a !== null) aurocs.push(a);
    }
    return aurocs.length ? aurocs.reduce((x, y) => x + y, 0) / aurocs.length : null;
  }
}
