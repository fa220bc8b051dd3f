export { FileRegistry, type FileRegistryOptions } from './file-registry.js';
export { fileRegistry } from './file-registry-adapter.js';
