import { siteId } from '../simulator/index.js';

/**
 * One partition per site: site i of the trial (`site-01` is 0, `site-13` is 12, the
 * simulator's stable site order) goes to partition i of a topic with `partitions`
 * partitions, or to i % partitions when an existing topic has fewer partitions than sites.
 * Explicit, so no two sites share a partition and none stays empty (murmur2 of the key
 * would put site-02 and site-04 on one partition of four and leave partition 0 empty).
 * See docs/adapters/kafka.md.
 */
export function sitePartitions(sites: number, partitions = sites): Map<string, number> {
  return new Map(Array.from({ length: sites }, (_, i) => [siteId(i), i % partitions] as const));
}
