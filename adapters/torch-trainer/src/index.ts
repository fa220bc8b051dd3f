export {
  type TorchTcnArtifactOptions,
  torchTcnArtifact,
  vigilInitializerName,
} from './onnx/torch-tcn-onnx.js';
export {
  TCN_WORKER_SCRIPT,
  TorchTrainer,
  torchTrainer,
  torchTrainerCapabilities,
} from './torch-trainer.js';
export {
  defaultTorchPython,
  TORCH_DEVICES,
  type TorchDevice,
  type TorchTrainerConfig,
  torchTrainerConfig,
} from './torch-trainer-config.js';
export { sequencesToArrow } from './worker/arrow-data.js';
export {
  runWorker,
  type WorkerDone,
  type WorkerEpoch,
  type WorkerEvent,
  type WorkerReady,
} from './worker/worker-process.js';
