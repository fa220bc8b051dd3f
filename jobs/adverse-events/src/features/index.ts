export * from './duration.js';
export * from './feature-definitions.js';
export * from './features-config.js';
export * from './materialize-features.js';
export * from './streaming-push.js';
export * from './window-state.js';
export * from './window-table.js';
