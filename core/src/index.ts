export * from './domain/index.js';
export * from './errors.js';
export * from './files/atomic-file.js';
export * from './kernel/define.js';
export * from './kernel/logger.js';
export * from './metrics/index.js';
export * from './models/champion.js';
export * from './models/top-drivers.js';
export * from './pipeline/index.js';
export * from './ports/index.js';
export * from './random.js';

/** Version of the core API adapters declare compatibility with. */
export const CORE_VERSION = '0.1.0';
export * from './kernel/component-registry.js';
export * from './kernel/config.js';
export * from './kernel/kernel.js';
export * from './kernel/lineage.js';
export * from './models/sequences.js';
export * from './security/pseudonym.js';
export * from './security/api-keys.js';
