export { localLake } from './local-lake.js';
export { type LocalLakeOptions, LocalLakeStore } from './local-lake-store.js';
