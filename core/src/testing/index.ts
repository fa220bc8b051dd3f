export * from './context.js';
export * from './contract.js';
export * from './source-contract.js';
export * from './feature-store-contract.js';
export * from './lake-store-contract.js';
export * from './registry-contract.js';
export * from './server-contract.js';
export * from './trainer-contract.js';
