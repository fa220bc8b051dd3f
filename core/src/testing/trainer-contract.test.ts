import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TrainingSet } from '../domain/dataset.js';
import type { ModelArtifact } from '../domain/model.js';
import { VigilError } from '../errors.js';
import { auroc } from '../metrics/auroc.js';
import type { Trainer, TrainOptions, TrainResult, TrainSpec } from '../ports/trainer.js';
import { checkContract } from './contract.js';
import { type TrainerFixture, trainerContract } from './trainer-contract.js';

/**
 * A small but correct reference trainer for the suite's own test: logistic regression by
 * full-batch gradient descent, NaN → training mean, the model serialised as JSON (the suite
 * checks the artifact's description, not that the bytes are ONNX — adapters prove that with
 * onnxruntime). Each broken variant below breaks exactly one promise of the contract.
 */
interface ToyModel {
  weights: number[];
  bias: number;
  means: number[];
}

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_TRAINER_INVALID_DATASET', message);
}

function check(set: TrainingSet, label: string, bothClasses: boolean): void {
  const rows = set.y.length;
  const d = set.featureNames.length;
  if (rows === 0) throw invalid(`${label} has zero rows`);
  if (set.x.length !== rows * d) throw invalid(`${label}.x has ${set.x.length} values, expected ${rows * d}`);
  if (set.groups.length !== rows) throw invalid(`${label}.groups has ${set.groups.length} entries`);
  if (set.y.some((v) => v > 1)) throw invalid(`${label}.y must hold 0/1 labels`);
  const positives = set.y.reduce((a, b) => a + b, 0);
  if (bothClasses && (positives === 0 || positives === rows)) throw invalid(`${label}.y has a single class`);
}

function score(model: ToyModel, x: Float32Array, rows: number): Float32Array {
  const d = model.weights.length;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let z = model.bias;
    for (let j = 0; j < d; j++) {
      const v = x[r * d + j]!;
      z += model.weights[j]! * (Number.isNaN(v) ? model.means[j]! : v);
    }
    out[r] = 1 / (1 + Math.exp(-z));
  }
  return out;
}

function logloss(p: Float32Array, y: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s -= Math.log(Math.min(Math.max(y[i] ? p[i]! : 1 - p[i]!, 1e-15), 1));
  return s / p.length;
}

class ToyTrainer implements Trainer {
  readonly capabilities = { gpu: false, algorithms: ['toy'], cancellable: true, explain: false };

  async train(data: TrainingSet, spec: TrainSpec, options: TrainOptions = {}): Promise<TrainResult> {
    check(data, 'data', true);
    if (options.validation) {
      check(options.validation, 'validation', false);
      if (options.validation.featureNames.join() !== data.featureNames.join()) {
        throw invalid('validation.featureNames differ from data.featureNames');
      }
    }
    if (spec.algorithm !== 'toy') {
      throw new VigilError('VIGIL_TRAINER_INVALID_SPEC', `unknown algorithm '${spec.algorithm}'`);
    }
    for (const key of Object.keys(spec.params)) {
      if (key !== 'epochs') throw new VigilError('VIGIL_TRAINER_INVALID_SPEC', `unknown param '${key}'`);
    }
    const epochs = Number(spec.params.epochs ?? 100);
    const rows = data.y.length;
    const d = data.featureNames.length;
    const means = Array.from({ length: d }, (_, j) => {
      let s = 0;
      let c = 0;
      for (let r = 0; r < rows; r++) {
        const v = data.x[r * d + j]!;
        if (!Number.isNaN(v)) {
          s += v;
          c++;
        }
      }
      return c ? s / c : 0;
    });
    const model: ToyModel = { weights: new Array(d).fill(0), bias: 0, means };
    for (let epoch = 0; epoch < epochs; epoch++) {
      if (options.signal?.aborted) throw new VigilError('VIGIL_TRAINER_CANCELLED', 'cancelled');
      const p = score(model, data.x, rows);
      const grad = new Array(d + 1).fill(0);
      for (let r = 0; r < rows; r++) {
        const e = p[r]! - data.y[r]!;
        for (let j = 0; j < d; j++) {
          const v = data.x[r * d + j]!;
          grad[j] += e * (Number.isNaN(v) ? means[j]! : v);
        }
        grad[d] += e;
      }
      for (let j = 0; j < d; j++) model.weights[j]! -= grad[j] / rows;
      model.bias -= grad[d] / rows;
      options.onProgress?.({ fraction: (epoch + 1) / epochs });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const bytes = new TextEncoder().encode(JSON.stringify(model));
    const artifact: ModelArtifact = {
      format: 'onnx',
      bytes,
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, d] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
      featureNames: [...data.featureNames],
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    const train = score(model, data.x, rows);
    const metrics: Record<string, number> = {
      train_auroc: auroc(train, data.y)!,
      train_logloss: logloss(train, data.y),
    };
    if (options.validation) {
      const v = score(model, options.validation.x, options.validation.y.length);
      metrics.val_auroc = auroc(v, options.validation.y)!;
      metrics.val_logloss = logloss(v, options.validation.y);
    }
    return { artifact, metrics, params: { epochs } };
  }

  async predict(artifact: ModelArtifact, x: Float32Array, rows: number): Promise<Float32Array> {
    return score(JSON.parse(new TextDecoder().decode(artifact.bytes)) as ToyModel, x, rows);
  }

  async close(): Promise<void> {}
}

/** Wrap the toy trainer, overriding some of its methods with a bug. */
function broken(override: (base: ToyTrainer) => Partial<Trainer>): () => Promise<TrainerFixture> {
  return async () => {
    const base = new ToyTrainer();
    const impl: Trainer = {
      capabilities: base.capabilities,
      train: (d, s, o) => base.train(d, s, o),
      predict: (a, x, r) => base.predict(a, x, r),
      close: () => base.close(),
      ...override(base),
    };
    return { impl, algorithm: 'toy', params: { epochs: 60 }, cleanup: () => impl.close() };
  };
}

const correct = broken(() => ({}));

const failing = async (factory: () => Promise<TrainerFixture>) =>
  (await checkContract(trainerContract, factory, { timeoutMs: 20_000 })).failed.map((f) => f.name);

const allCases = trainerContract.cases.map((c) => c.name);
const caseNamed = (fragment: string) => {
  const found = allCases.find((n) => n.includes(fragment));
  if (!found) throw new Error(`no case named like '${fragment}'`);
  return found;
};

describe('trainer contract', () => {
  it('passes every case on a correct reference trainer', async () => {
    const report = await checkContract(trainerContract, correct, { timeoutMs: 20_000 });
    expect(report.failed.map((f) => [f.name, String(f.error)])).toEqual([]);
    expect(report.passed).toEqual(allCases);
  });

  it('fails a trainer whose scores are constant', async () => {
    const failed = await failing(
      broken(() => ({ predict: async (_a, _x, rows) => new Float32Array(rows).fill(0.5) })),
    );
    expect(failed).toContain(caseNamed('learns a separable signal'));
    expect(failed).toContain(caseNamed('predict returns stable probabilities'));
    expect(failed).toContain(caseNamed('handles missing'));
  });

  it('fails a trainer whose bytes are not deterministic', async () => {
    const failed = await failing(
      broken((base) => ({
        train: async (d, s, o) => {
          const result = await base.train(d, s, o);
          const model = JSON.parse(new TextDecoder().decode(result.artifact.bytes)) as ToyModel;
          model.bias += Math.random() * 1e-9;
          const bytes = new TextEncoder().encode(JSON.stringify(model));
          const sha256 = createHash('sha256').update(bytes).digest('hex');
          return { ...result, artifact: { ...result.artifact, bytes, sha256 } };
        },
      })),
    );
    expect(failed).toEqual([caseNamed('identical artifact bytes')]);
  });

  it('fails a trainer whose artifact misdescribes itself', async () => {
    const wrongSha = await failing(
      broken((base) => ({
        train: async (d, s, o) => {
          const result = await base.train(d, s, o);
          return { ...result, artifact: { ...result.artifact, sha256: '0'.repeat(64) } };
        },
      })),
    );
    expect(wrongSha).toEqual([caseNamed('I/O contract')]);
    const wrongOutputs = await failing(
      broken((base) => ({
        train: async (d, s, o) => {
          const result = await base.train(d, s, o);
          const outputs = [{ name: 'probabilities', datatype: 'FP32' as const, shape: [-1, 1] }];
          return { ...result, artifact: { ...result.artifact, outputs } };
        },
      })),
    );
    expect(wrongOutputs).toEqual([caseNamed('I/O contract')]);
  });

  it('fails a trainer that cannot score missing values', async () => {
    const failed = await failing(
      broken((base) => ({
        predict: async (a, x, rows) => {
          const scores = await base.predict(a, x, rows);
          const d = a.featureNames.length;
          for (let r = 0; r < rows; r++) if (Number.isNaN(x[r * d]!)) scores[r] = Number.NaN;
          return scores;
        },
      })),
    );
    expect(failed).toEqual([caseNamed('handles missing')]);
  });

  it('fails a trainer that accepts invalid data or specs', async () => {
    const failed = await failing(
      broken((base) => ({
        train: async (d, s, o) =>
          base.train(
            { ...d, groups: Array.from({ length: d.y.length }, (_, i) => d.groups[i] ?? 'g') },
            { ...s, algorithm: 'toy', params: { epochs: s.params.epochs ?? 60 } },
            o,
          ),
      })),
    );
    expect(failed).toEqual([caseNamed('rejects invalid datasets'), caseNamed('rejects unknown algorithms')]);
  });

  it('fails a trainer that ignores its abort signal', async () => {
    const failed = await failing(
      broken((base) => ({ train: (d, s, o = {}) => base.train(d, s, { ...o, signal: undefined }) })),
    );
    expect(failed).toEqual([caseNamed('abort signal')]);
  });

  it('fails a trainer whose progress does not end at 1 or goes backwards', async () => {
    const neverDone = await failing(
      broken((base) => ({
        train: (d, s, o = {}) =>
          base.train(d, s, {
            ...o,
            onProgress: (p) => {
              if (p.fraction < 1) o.onProgress?.(p);
            },
          }),
      })),
    );
    expect(neverDone).toEqual([caseNamed('monotone progress')]);
    const backwards = await failing(
      broken((base) => ({
        train: (d, s, o = {}) =>
          base.train(d, s, {
            ...o,
            onProgress: (p) => o.onProgress?.({ fraction: p.fraction === 0.5 ? 0.1 : p.fraction }),
          }),
      })),
    );
    expect(backwards).toEqual([caseNamed('monotone progress')]);
  });

  it('fails a trainer that reports val_* metrics without a validation set', async () => {
    const failed = await failing(
      broken((base) => ({
        train: async (d, s, o) => {
          const result = await base.train(d, s, o);
          return { ...result, metrics: { val_auroc: 0.5, ...result.metrics } };
        },
      })),
    );
    expect(failed).toEqual([caseNamed('val_* metrics only')]);
  });
});
