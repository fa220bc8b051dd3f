import type { FeatureStore } from './feature-store.js';
import type { LakeStore } from './lake-store.js';
import type { Monitor } from './monitor.js';
import type { Registry } from './registry.js';
import type { Server } from './server.js';
import type { Source } from './source.js';
import type { Trainer } from './trainer.js';

export * from './feature-store.js';
export * from './lake-store.js';
export * from './lake-store-checks.js';
export * from './monitor.js';
export * from './registry.js';
export * from './server.js';
export * from './source.js';
export * from './trainer.js';

/** Port name → the interface an adapter for it implements. */
export interface PortMap {
  source: Source;
  'lake-store': LakeStore;
  'feature-store': FeatureStore;
  trainer: Trainer;
  registry: Registry;
  server: Server;
  monitor: Monitor;
}

export type PortName = keyof PortMap;

/** Ports in the order the kernel starts them when no dependency says otherwise. */
export const PORT_NAMES: readonly PortName[] = [
  'source',
  'lake-store',
  'feature-store',
  'trainer',
  'registry',
  'server',
  'monitor',
];
