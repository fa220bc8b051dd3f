import { auroc, type ModelArtifact, type SequenceSource, type TrainingSet, toSequences } from '@vigil/core';
import type { Calibrator } from '../calibration/calibrator.js';
import { trainGbt } from '../gbt/train-gbt.js';
import { decodeOnnxModel } from '../onnx/onnx-codec.js';
import { compileArtifact } from '../scoring/compile-artifact.js';
import type { EnsembleParams } from '../spec/train-params.js';
import { TCN_ARCHITECTURE_KEY } from '../tcn/tcn-onnx.js';
import { trainTcn } from '../tcn/train-tcn.js';
import type { RunControl } from '../training/run-control.js';
import { groupFolds } from './group-folds.js';
import { stackOnnx } from './stack-onnx.js';
import { fitStacker, type Stacker } from './stacker.js';

export interface EnsembleTrainOutcome {
  build: (calibration?: Calibrator) => ModelArtifact;
  stacker: Stacker;
  /** Each member's out-of-fold AUROC on the training rows (null when a fold's rows hold one class only). */
  oofAuroc: { gbt: number | null; tcn: number | null };
  /** Epochs of the final TCN and trees of the final GBT. */
  epochs: number;
  trees: number;
  /** The sequence matrices the ensemble was trained and validated on ([rows, L·d], raw). */
  sequences: { train: Float32Array; validation?: Float32Array };
}

type WithTimes = TrainingSet & { at?: readonly (Date | number)[] };

/** The rows of `set` whose `keep` is true (features, label, group and time), in order. */
function rowsWhere(set: WithTimes, keep: (row: number) => boolean): WithTimes {
  const d = set.featureNames.length;
  const rows: number[] = [];
  for (let r = 0; r < set.y.length; r++) if (keep(r)) rows.push(r);
  const x = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    x.set(set.x.subarray(r * d, r * d + d), i * d);
  });
  const out: WithTimes = {
    featureNames: set.featureNames,
    x,
    y: Uint8Array.from(rows, (r) => set.y[r]!),
    groups: rows.map((r) => set.groups[r]!),
    lineage: set.lineage,
  };
  if (set.at) out.at = rows.map((r) => set.at![r]!);
  return out;
}

/**
 * Stacked ensemble of a GBT over the current row and a TCN over the row's sequence:
 *
 * 1. the training patients are dealt into `folds` grouped, stratified folds; for each fold, both
 *    members are trained on the other folds (early-stopping on `validation`) and score the
 *    fold's rows, giving every training row out-of-fold logits from models that never saw its
 *    patient;
 * 2. a logistic stacker is fitted on those out-of-fold logits;
 * 3. both members are trained again on all training rows, and the stacker combines their logits
 *    inside one ONNX graph (stackOnnx), optionally followed by the calibrator.
 *
 * Deterministic: members get the same seed in every fold; the folds come from `seed`.
 */
export async function trainEnsemble(
  data: WithTimes,
  params: EnsembleParams,
  seed: number,
  validation: WithTimes | undefined,
  control: RunControl,
  options: { threads?: number } = {},
): Promise<EnsembleTrainOutcome> {
  const L = params.tcn.sequenceLength;
  const rows = data.y.length;
  const fold = groupFolds(data.groups, data.y, params.folds, seed);
  const trainSeq = toSequences(data as SequenceSource, L);
  const width = L * data.featureNames.length;
  const oof = [new Float32Array(rows), new Float32Array(rows)];
  // 2 members × (folds + 1) fits share the progress bar.
  const fits = 2 * (params.folds + 1);
  let fit = 0;
  const next = (label: string) => {
    const child = control.child(fit / fits, (fit + 1) / fits, label);
    fit++;
    return child;
  };
  for (let k = 0; k < params.folds; k++) {
    const inner = rowsWhere(data, (r) => fold[r] !== k);
    const held: number[] = [];
    for (let r = 0; r < rows; r++) if (fold[r] === k) held.push(r);
    const heldX = new Float32Array(held.length * data.featureNames.length);
    const heldSeq = new Float32Array(held.length * width);
    const d = data.featureNames.length;
    held.forEach((r, i) => {
      heldX.set(data.x.subarray(r * d, r * d + d), i * d);
      heldSeq.set(trainSeq.subarray(r * width, (r + 1) * width), i * width);
    });
    const part = `fold ${k + 1}/${params.folds}`;
    const gbt = await trainGbt(inner, params.gbt, seed, validation, next(`${part} gbt`), options);
    const tcn = await trainTcn(inner, params.tcn, seed, validation, next(`${part} tcn`), options);
    const g = compileArtifact(gbt.artifact).rawScore(heldX, held.length);
    const t = compileArtifact(tcn.build()).rawScore(heldSeq, held.length);
    held.forEach((r, i) => {
      oof[0]![r] = g[i]!;
      oof[1]![r] = t[i]!;
    });
  }
  const stacker = fitStacker(oof, data.y);
  const gbt = await trainGbt(data, params.gbt, seed, validation, next('gbt'), options);
  const tcn = await trainTcn(data, params.tcn, seed, validation, next('tcn'), options);
  const tcnArtifact = tcn.build();
  const architecture = decodeOnnxModel(tcnArtifact.bytes).metadata.get(TCN_ARCHITECTURE_KEY)!;
  const build = (calibration?: Calibrator) =>
    stackOnnx({
      gbt: gbt.artifact,
      tcn: tcnArtifact,
      stacker,
      folds: params.folds,
      sequenceLength: L,
      tcnArchitecture: architecture,
      featureNames: data.featureNames,
      calibration,
    });
  const sequences: EnsembleTrainOutcome['sequences'] = { train: trainSeq };
  if (tcn.sequences.validation) sequences.validation = tcn.sequences.validation;
  return {
    build,
    stacker,
    oofAuroc: { gbt: auroc(oof[0]!, data.y), tcn: auroc(oof[1]!, data.y) },
    epochs: tcn.epochs,
    trees: gbt.trees,
    sequences,
  };
}
