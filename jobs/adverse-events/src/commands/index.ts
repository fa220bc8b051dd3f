export * from './features.js';
export * from './simulate.js';
