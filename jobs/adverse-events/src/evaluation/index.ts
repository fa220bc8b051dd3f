export * from './grouped-folds.js';
export * from './without-test-patients.js';
