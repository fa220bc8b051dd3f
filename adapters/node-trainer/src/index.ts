export {
  createModelArtifact,
  MODEL_INPUT_NAME,
  MODEL_LABEL_NAME,
  MODEL_PROBABILITIES_NAME,
  modelInputs,
  modelOutputs,
} from './artifact/model-artifact.js';
export {
  CALIBRATION_KEY,
  modelTail,
  type ScoreKind,
} from './calibration/calibration-onnx.js';
export { type Calibrator, calibratedProbability } from './calibration/calibrator.js';
export { fitIsotonic, type IsotonicCalibrator, isotonicProbability } from './calibration/isotonic.js';
export { fitPlatt, type PlattCalibrator, plattProbability } from './calibration/platt.js';
export { CART_SAMPLES_KEY, cartOnnx } from './cart/cart-onnx.js';
export { type CartRule, cartRules, cartRules as rules, type RuleCondition } from './cart/cart-rules.js';
export { type CartTree, PRESENCE_THRESHOLD } from './cart/cart-tree.js';
export { validateTrainingSet } from './dataset/validate-training-set.js';
export { type ExplainArtifactOptions, explainArtifact } from './explain/explain-artifact.js';
export type {
  ArtifactExplainer,
  Explanation,
  ExplanationMethod,
  MemberExplanation,
} from './explain/explanation.js';
export {
  type SequenceAttributions,
  type SequenceScorer,
  sequenceShapley,
} from './explain/sequence-shapley.js';
export { type TreeEnsemble, treeEnsembleFromTrees } from './explain/tree-ensemble.js';
export { TreeShap } from './explain/tree-shap.js';
export { GBT_COVER_KEY, ONNX_ML_OPSET } from './gbt/gbt-onnx.js';
export {
  FEATURE_NAMES_KEY,
  type LogisticRegressionOnnxOptions,
  logisticRegressionOnnx,
  MODEL_KIND_KEY,
  ONNX_OPSET,
} from './logistic/logistic-regression-onnx.js';
export { logloss } from './metrics/logloss.js';
export {
  NodeTrainer,
  type NodeTrainerConfig,
  nodeTrainer,
  nodeTrainerCapabilities,
  nodeTrainerConfig,
} from './node-trainer.js';
export {
  type DecodedModel,
  decodeOnnxModel,
  encodeOnnxModel,
  ONNX_IR_VERSION,
  ONNX_PRODUCER,
  type OnnxModelInput,
} from './onnx/onnx-codec.js';
export * from './onnx/onnx-graph.js';
export { OnnxAttributeType, OnnxDataType, onnxModelType } from './onnx/onnx-schema.js';
export {
  checkQuantized,
  type LatencySummary,
  type OrtLike,
  type OrtLikeSession,
  type QuantizationCheck,
  type QuantizationCheckOptions,
} from './onnx/quantization-check.js';
export {
  QUANTIZATION_KEY,
  type QuantizableOp,
  type QuantizationFormat,
  type QuantizationRecord,
  type QuantizedArtifact,
  type QuantizedNode,
  type QuantizeOptions,
  quantizationOf,
  quantizeArtifact,
  quantizeWeights,
} from './onnx/quantize.js';
export { type CompiledModel, compileArtifact } from './scoring/compile-artifact.js';
export { ScorerCache } from './scoring/scorer-cache.js';
export {
  ALGORITHMS,
  CALIBRATION_METHODS,
  CART_MAX_DEPTH,
  CART_PARAMS,
  type CalibrationMethod,
  GBT_PARAMS,
  LOGISTIC_PARAMS,
  type ResolvedSpec,
  resolveSpec,
  TCN_PARAMS,
  type TcnParams,
} from './spec/train-params.js';
export { mixedSequenceSet, risingSequenceSet } from './tcn/sequence-task.js';
export { type SequenceSource, toSequences } from './tcn/sequences.js';
export { fitStandardizer, type Standardizer, standardize } from './tcn/standardizer.js';
export { convNames, TCN_ARCHITECTURE_KEY, type TcnArchitecture, tcnOnnx } from './tcn/tcn-onnx.js';
