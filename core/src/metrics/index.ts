export * from './auroc.js';
export * from './auroc-ci.js';
export * from './average-precision.js';
export * from './brier-score.js';
export * from './calibration.js';
export * from './drift/index.js';
export * from './operating-threshold.js';
export * from './paired-auroc-delta.js';
