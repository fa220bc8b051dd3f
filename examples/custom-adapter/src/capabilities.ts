import type { SourceCapabilities } from '@vigil/core';

/**
 * What the memory source supports. It keeps everything in the process: records and
 * committed offsets are gone once the source closes or the process exits (the Source port
 * has no durability flag; the contract's `reopen` is simply not provided). Produce does
 * not de-duplicate retries, so `idempotentProduce` is false.
 */
export const memorySourceCapabilities = Object.freeze({
  partitions: true,
  consumerGroups: true,
  replay: true,
  idempotentProduce: false,
} satisfies SourceCapabilities);
