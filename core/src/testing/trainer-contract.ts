/**
 * Trainer contract: what every Trainer adapter (in-process, PyTorch worker, …) must do with a
 * training set and a spec — learn, be deterministic for a seed, describe its artifact by the
 * model I/O contract, score with `predict`, survive missing values, reject bad input with a
 * code, stop on abort and report progress.
 *
 * Data is synthetic and small, generated with a seeded {@link createRng}: a linear signal
 * `2·f0 − f1 + noise > 0` plus two pure-noise features.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TrainingSet } from '../domain/dataset.js';
import type { TensorSpec } from '../domain/model.js';
import { auroc } from '../metrics/auroc.js';
import type { Trainer, TrainProgress, TrainResult, TrainSpec } from '../ports/trainer.js';
import { createRng } from '../random.js';
import type { Contract, ContractCase, ContractFixture } from './contract.js';

export interface TrainerFixture extends ContractFixture<Trainer> {
  /** Algorithm every case trains (`spec.algorithm`); must be in `capabilities.algorithms`. */
  algorithm: string;
  /** Hyper-parameters for every case (keep the runs small: the cases train a dozen models). */
  params?: Record<string, number | string | boolean>;
}

const FEATURES = ['f0_signal', 'f1_signal', 'f2_noise', 'f3_noise'];

/** A synthetic training set; `nanRate` of the feature values are missing (NaN). */
export function syntheticTrainingSet(
  seed: number,
  rows: number,
  options: { nanRate?: number } = {},
): TrainingSet {
  const rng = createRng(seed);
  const d = FEATURES.length;
  const x = new Float32Array(rows * d);
  const y = new Uint8Array(rows);
  const nanRate = options.nanRate ?? 0;
  for (let r = 0; r < rows; r++) {
    const values = FEATURES.map(() => rng.normal());
    y[r] = 2 * values[0]! - values[1]! + 0.3 * rng.normal() > 0 ? 1 : 0;
    for (let j = 0; j < d; j++) x[r * d + j] = rng.next() < nanRate ? Number.NaN : values[j]!;
  }
  return {
    featureNames: [...FEATURES],
    x,
    y,
    groups: Array.from({ length: rows }, (_, r) => `g${Math.floor(r / 2)}`),
    lineage: { lakeCommit: 'contract', featureViews: [{ name: 'synthetic', version: 1 }] },
  };
}

function spec(f: TrainerFixture, seed = 7): TrainSpec {
  return { algorithm: f.algorithm, params: { ...(f.params ?? {}) }, seed };
}

const train = syntheticTrainingSet(1, 400);
const validation = syntheticTrainingSet(2, 200);

function assertProbabilities(scores: Float32Array, rows: number, what: string): void {
  assert.ok(scores instanceof Float32Array, `${what}: predict must return a Float32Array`);
  assert.equal(scores.length, rows, `${what}: one score per row`);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    assert.ok(Number.isFinite(s) && s >= 0 && s <= 1, `${what}: score ${i} = ${s} is not a probability`);
  }
}

function code(error: unknown): unknown {
  return (error as { code?: unknown })?.code;
}

async function assertRejectsWith(
  promise: Promise<unknown>,
  expectedCode: string,
  mention: RegExp,
  what: string,
): Promise<void> {
  await assert.rejects(
    promise,
    (error: unknown) => {
      assert.equal(code(error), expectedCode, `${what}: expected ${expectedCode}, got ${String(error)}`);
      assert.match((error as Error).message, mention, `${what}: the message should name the field`);
      return true;
    },
    `${what}: should be rejected`,
  );
}

function sortedByName(specs: TensorSpec[]): TensorSpec[] {
  return [...specs].sort((a, b) => a.name.localeCompare(b.name));
}

const cases: ContractCase<TrainerFixture>[] = [
  {
    name: 'learns a separable signal (validation AUROC from predict > 0.9)',
    async run(f) {
      assert.ok(
        f.impl.capabilities.algorithms.includes(f.algorithm),
        `capabilities.algorithms must list '${f.algorithm}'`,
      );
      const result = await f.impl.train(train, spec(f), { validation });
      const scores = await f.impl.predict(result.artifact, validation.x, validation.y.length);
      assertProbabilities(scores, validation.y.length, 'validation');
      const area = auroc(scores, validation.y);
      assert.ok(area !== null && area > 0.9, `validation AUROC ${area} should exceed 0.9`);
      for (const key of ['train_auroc', 'train_logloss', 'val_auroc', 'val_logloss']) {
        assert.equal(typeof result.metrics[key], 'number', `metrics.${key} should be reported`);
        assert.ok(Number.isFinite(result.metrics[key]), `metrics.${key} should be finite`);
      }
      assert.ok(
        Math.abs(result.metrics.val_auroc! - area) < 0.02,
        `metrics.val_auroc ${result.metrics.val_auroc} should agree with predict's AUROC ${area}`,
      );
      assert.ok(
        result.metrics.train_auroc! > 0.9,
        `train_auroc ${result.metrics.train_auroc} should exceed 0.9`,
      );
    },
  },
  {
    name: 'reports val_* metrics only when a validation set is given',
    async run(f) {
      const result = await f.impl.train(train, spec(f));
      assert.equal(typeof result.metrics.train_logloss, 'number', 'metrics.train_logloss');
      const valKeys = Object.keys(result.metrics).filter((k) => k.startsWith('val_'));
      assert.deepEqual(valKeys, [], 'no val_* metrics without a validation set');
    },
  },
  {
    name: 'same data, spec and seed give identical artifact bytes',
    async run(f) {
      const copy = (set: TrainingSet): TrainingSet => ({
        ...set,
        x: Float32Array.from(set.x),
        y: Uint8Array.from(set.y),
        groups: [...set.groups],
      });
      const a = await f.impl.train(copy(train), spec(f, 11), { validation: copy(validation) });
      const b = await f.impl.train(copy(train), spec(f, 11), { validation: copy(validation) });
      assert.equal(a.artifact.sha256, b.artifact.sha256, 'sha256 of two equal runs');
      assert.ok(
        Buffer.from(a.artifact.bytes).equals(Buffer.from(b.artifact.bytes)),
        'bytes of two equal runs',
      );
      assert.deepEqual(a.metrics, b.metrics, 'metrics of two equal runs');
    },
  },
  {
    name: 'artifact follows the model I/O contract and its sha256 matches its bytes',
    async run(f) {
      const result: TrainResult = await f.impl.train(train, spec(f));
      const { artifact } = result;
      assert.equal(artifact.format, 'onnx');
      assert.ok(artifact.bytes instanceof Uint8Array && artifact.bytes.length > 0, 'artifact.bytes');
      assert.equal(
        artifact.sha256,
        createHash('sha256').update(artifact.bytes).digest('hex'),
        'artifact.sha256',
      );
      assert.deepEqual(artifact.featureNames, FEATURES, 'artifact.featureNames');
      assert.deepEqual(
        artifact.inputs,
        [{ name: 'input', datatype: 'FP32', shape: [-1, FEATURES.length] }],
        'artifact.inputs',
      );
      assert.deepEqual(
        sortedByName(artifact.outputs),
        [
          { name: 'label', datatype: 'INT64', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
        ],
        'artifact.outputs',
      );
      for (const [key, value] of Object.entries(f.params ?? {})) {
        assert.equal(result.params[key], value, `result.params.${key} should echo the spec`);
      }
    },
  },
  {
    name: 'predict returns stable probabilities, row by row as in a batch',
    async run(f) {
      const { artifact } = await f.impl.train(train, spec(f));
      const rows = validation.y.length;
      const first = await f.impl.predict(artifact, validation.x, rows);
      const second = await f.impl.predict(artifact, validation.x, rows);
      assertProbabilities(first, rows, 'predict');
      assert.deepEqual(Array.from(second), Array.from(first), 'predict twice gives the same scores');
      const d = FEATURES.length;
      for (const r of [0, 17, rows - 1]) {
        const one = await f.impl.predict(artifact, validation.x.slice(r * d, (r + 1) * d), 1);
        assert.ok(Math.abs(one[0]! - first[r]!) <= 1e-6, `row ${r} alone ${one[0]} vs in batch ${first[r]}`);
      }
      const none = await f.impl.predict(artifact, new Float32Array(0), 0);
      assert.equal(none.length, 0, 'zero rows give zero scores');
      const scoresDiffer = new Set(Array.from(first)).size > 1;
      assert.ok(scoresDiffer, 'scores should vary across rows');
    },
  },
  {
    name: 'handles missing (NaN) features in training and scoring',
    async run(f) {
      const withNaN = syntheticTrainingSet(3, 400, { nanRate: 0.2 });
      const valNaN = syntheticTrainingSet(4, 200, { nanRate: 0.2 });
      const { artifact } = await f.impl.train(withNaN, spec(f), { validation: valNaN });
      const scores = await f.impl.predict(artifact, valNaN.x, valNaN.y.length);
      assertProbabilities(scores, valNaN.y.length, 'NaN rows');
      const area = auroc(scores, valNaN.y);
      assert.ok(area !== null && area > 0.75, `AUROC with 20% missing values ${area} should exceed 0.75`);
      const allMissing = await f.impl.predict(
        artifact,
        new Float32Array(FEATURES.length).fill(Number.NaN),
        1,
      );
      assertProbabilities(allMissing, 1, 'an all-missing row');
    },
  },
  {
    name: 'rejects invalid datasets with VIGIL_TRAINER_INVALID_DATASET naming the field',
    async run(f) {
      const s = spec(f);
      const bad = async (set: TrainingSet, mention: RegExp, what: string) =>
        assertRejectsWith(f.impl.train(set, s), 'VIGIL_TRAINER_INVALID_DATASET', mention, what);
      await bad(
        { ...train, x: new Float32Array(0), y: new Uint8Array(0), groups: [] },
        /rows|\by\b/,
        'zero rows',
      );
      await bad({ ...train, y: new Uint8Array(train.y.length).fill(1) }, /\by\b/, 'a single class');
      await bad({ ...train, x: train.x.subarray(0, train.x.length - 1) }, /\bx\b/, 'x of the wrong length');
      const twos = Uint8Array.from(train.y);
      twos[5] = 2;
      await bad({ ...train, y: twos }, /\by\b/, 'a label that is not 0/1');
      await bad({ ...train, groups: train.groups.slice(1) }, /groups/, 'groups of the wrong length');
      await assertRejectsWith(
        f.impl.train(train, s, {
          validation: { ...validation, featureNames: ['other', 'names', 'here', 'now'] },
        }),
        'VIGIL_TRAINER_INVALID_DATASET',
        /featureNames/,
        'validation with other features',
      );
    },
  },
  {
    name: 'rejects unknown algorithms and parameters with VIGIL_TRAINER_INVALID_SPEC naming them',
    async run(f) {
      await assertRejectsWith(
        f.impl.train(train, { ...spec(f), algorithm: 'no-such-algorithm' }),
        'VIGIL_TRAINER_INVALID_SPEC',
        /no-such-algorithm/,
        'an unknown algorithm',
      );
      await assertRejectsWith(
        f.impl.train(train, { ...spec(f), params: { ...(f.params ?? {}), noSuchParam: 1 } }),
        'VIGIL_TRAINER_INVALID_SPEC',
        /noSuchParam/,
        'an unknown parameter',
      );
    },
  },
  {
    name: 'honours an abort signal with VIGIL_TRAINER_CANCELLED',
    requires: ['cancellable'],
    async run(f) {
      const before = new AbortController();
      before.abort();
      await assert.rejects(
        f.impl.train(train, spec(f), { signal: before.signal }),
        (e: unknown) => code(e) === 'VIGIL_TRAINER_CANCELLED',
        'an already-aborted signal',
      );
      const during = new AbortController();
      let reports = 0;
      await assert.rejects(
        f.impl.train(train, spec(f), {
          signal: during.signal,
          onProgress: () => {
            reports++;
            during.abort();
          },
        }),
        (e: unknown) => code(e) === 'VIGIL_TRAINER_CANCELLED',
        'a signal aborted at the first progress report',
      );
      assert.ok(reports >= 1, 'progress was reported before the abort');
      // The trainer is still usable afterwards.
      const after = await f.impl.train(train, spec(f));
      assert.ok(after.artifact.bytes.length > 0);
    },
  },
  {
    name: 'reports monotone progress in [0, 1] ending at 1',
    async run(f) {
      const progress: TrainProgress[] = [];
      await f.impl.train(train, spec(f), { validation, onProgress: (p) => progress.push(p) });
      assert.ok(progress.length >= 2, `expected several progress reports, got ${progress.length}`);
      let last = 0;
      for (const p of progress) {
        assert.ok(p.fraction >= 0 && p.fraction <= 1, `fraction ${p.fraction} outside [0, 1]`);
        assert.ok(p.fraction >= last, `fraction went down from ${last} to ${p.fraction}`);
        last = p.fraction;
      }
      assert.equal(progress.at(-1)!.fraction, 1, 'the last report has fraction 1');
    },
  },
];

export const trainerContract: Contract<TrainerFixture> = { port: 'trainer', cases };
