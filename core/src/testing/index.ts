export * from './context.js';
export * from './contract.js';
