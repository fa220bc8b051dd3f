export {
  createModelArtifact,
  MODEL_INPUT_NAME,
  MODEL_LABEL_NAME,
  MODEL_PROBABILITIES_NAME,
  modelInputs,
  modelOutputs,
} from './artifact/model-artifact.js';
export { ONNX_ML_OPSET } from './gbt/gbt-onnx.js';
export {
  FEATURE_NAMES_KEY,
  type LogisticRegressionOnnxOptions,
  logisticRegressionOnnx,
  MODEL_KIND_KEY,
  ONNX_OPSET,
} from './logistic/logistic-regression-onnx.js';
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
export { OnnxAttributeType, OnnxDataType } from './onnx/onnx-schema.js';
export { ALGORITHMS, GBT_PARAMS, LOGISTIC_PARAMS } from './spec/train-params.js';
