export * from './config.js';
export * from './features/index.js';
export * from './features/views.js';
export * from './medallion/index.js';
export * from './pipeline/run-job.js';
export * from './pipeline/runtime.js';
export * from './pipeline/training-set.js';
export * from './simulator/index.js';
