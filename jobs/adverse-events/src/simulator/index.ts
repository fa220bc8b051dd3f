export * from './drift.js';
export * from './mess.js';
export * from './risk-model.js';
export * from './simulate-trial.js';
