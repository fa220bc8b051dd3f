export { BRONZE_PREFIX, type BronzeRecord, type BronzeRecovery, type BronzeWriteResult } from './bronze.js';
export * from './catalog-config.js';
export * from './expectations.js';
export { FAULT_POINTS, type FaultPoint } from './fault-point.js';
export { GOLD_PATHS, type GoldResult } from './gold.js';
export * from './measure-catalog.js';
export { createMedallion, type Medallion, type MedallionOptions } from './medallion.js';
export * from './patient-day-features.js';
export {
  type ExpectationResult,
  QUARANTINE_PATH,
  SILVER_TABLES,
  type SilverOptions,
  type SilverResult,
  type SilverTable,
  silverPath,
} from './silver.js';
export { MAX_PAYLOAD_BYTES, QUARANTINE_REASONS, type QuarantineReason } from './silver-rules.js';
export * from './validation-report.js';
