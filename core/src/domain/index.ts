export * from './dataset.js';
export * from './explanation.js';
export * from './feature.js';
export * from './lineage.js';
export * from './model.js';
export * from './prediction.js';
export * from './record-schema.js';
