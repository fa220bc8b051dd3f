/**
 * One partition per site: the job produces each trial site's events to the site's own
 * partition (`sitePartitions`: site-01 → 0, site-02 → 1, …), on Kafka and on the file log.
 * With 4 and 13 sites, every partition of every topic holds exactly one site, no two sites
 * share a partition, and no partition of a topic that all sites report to stays empty.
 *
 * Kafka needs `bash scripts/services up kafka`; the file log runs in a temp folder.
 */
import { join } from 'node:path';
import { fileLogSource, Partitioner } from '@vigil/adapter-file-log';
import { kafkaSource } from '@vigil/adapter-kafka';
import { requireKafkaBroker, testBrokers } from '@vigil/adapter-kafka/testing';
import type { Source } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { simulateTrial, siteId } from '@vigil/job-adverse-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produceEvents } from '../../jobs/adverse-events/src/pipeline/ingest.js';
import { sitePartitions } from '../../jobs/adverse-events/src/pipeline/site-partitions.js';

const brokers = testBrokers();
const prefix = `vigil-site-partitions-${process.pid}-${Date.now().toString(36)}`;
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  try {
    const { Kafka, logLevel } = (await import('kafkajs')).default;
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  } catch {
    // no broker: the Kafka cases failed already
  }
  await ctx?.cleanup();
});

/** Produce a small trial through the job's produceEvents, read every record back, and return site keys per topic/partition. */
async function produceAndRead(
  source: Source,
  sites: number,
  topicPrefix: string,
): Promise<{
  produced: number;
  byPartition: Map<string, Map<number, Set<string>>>;
  partitions: Map<string, number>;
}> {
  const sim = simulateTrial({ seed: 11, patients: 12 * sites, days: 16, sites });
  const events = sim.events.map((e) => ({ ...e, topic: `${topicPrefix}${e.topic}` }));
  const { produced, topics } = await produceEvents(source, events, {
    partitions: sites,
    signal: new AbortController().signal,
    onProgress: () => {},
    marker: join(ctx.workdir, 'markers', `${topicPrefix}${sites}.json`),
  });
  expect(produced).toBe(events.length);
  const consumer = await source.consumer({ group: `${topicPrefix}reader`, topics, start: 'earliest' });
  const byPartition = new Map<string, Map<number, Set<string>>>();
  let read = 0;
  const deadline = Date.now() + 60_000;
  try {
    while (read < events.length && Date.now() < deadline) {
      for (const r of await consumer.poll({ maxRecords: 5_000, timeoutMs: 500 })) {
        read += 1;
        const parts = byPartition.get(r.topic) ?? new Map<number, Set<string>>();
        byPartition.set(r.topic, parts);
        const keys = parts.get(r.partition) ?? new Set<string>();
        parts.set(r.partition, keys);
        keys.add(r.key ?? '(null)');
      }
    }
  } finally {
    await consumer.close();
  }
  expect(read).toBe(events.length);
  const partitions = new Map<string, number>();
  for (const topic of topics) partitions.set(topic, (await source.describeTopic(topic)).partitions);
  return { produced, byPartition, partitions };
}

function expectOnePartitionPerSite(sites: number, result: Awaited<ReturnType<typeof produceAndRead>>): void {
  const want = sitePartitions(sites);
  const allSites = new Set(Array.from({ length: sites }, (_, i) => siteId(i)));
  let complete = 0;
  for (const [topic, parts] of result.byPartition) {
    expect(result.partitions.get(topic)).toBe(sites);
    const seen = new Set<string>();
    for (const [partition, keys] of parts) {
      // exactly one site per partition, and it is the site mapped there
      expect([...keys], `${topic}/${partition}`).toHaveLength(1);
      const [site] = [...keys] as [string];
      expect(want.get(site), `${topic}: ${site}`).toBe(partition);
      expect(seen.has(site), `${topic}: ${site} on two partitions`).toBe(false);
      seen.add(site);
    }
    if (seen.size === sites) {
      // every site reports to this topic: then every partition holds records
      expect([...parts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: sites }, (_, i) => i));
      complete += 1;
    }
  }
  // vital signs (at least) come from every site
  expect(complete).toBeGreaterThan(0);
  expect(allSites.size).toBe(sites);
}

describe('site → partition assignment', () => {
  it('maps site i to partition i, one site per partition (murmur2 would not)', () => {
    for (const sites of [4, 13]) {
      const map = sitePartitions(sites);
      expect([...map.values()]).toEqual(Array.from({ length: sites }, (_, i) => i));
      expect(map.get('site-01')).toBe(0);
      expect(map.get(siteId(sites - 1))).toBe(sites - 1);
    }
    // What hashing the key did: with 4 sites, site-02 and site-04 share a partition and one stays empty.
    const hashed = [1, 2, 3, 4].map((i) => Partitioner.forKey(`site-0${i}`, 4));
    expect(new Set(hashed).size).toBeLessThan(4);
    // An existing topic with fewer partitions than sites: sites wrap around, still stable.
    expect(sitePartitions(5, 4).get('site-05')).toBe(0);
  });

  for (const sites of [4, 13]) {
    it(`file log, ${sites} sites: every site on its own partition, no partition empty`, async () => {
      const source = await fileLogSource.create(
        fileLogSource.config.parse({ dir: join(ctx.workdir, `log-${sites}`), fsync: 'never' }),
        ctx,
      );
      try {
        expectOnePartitionPerSite(sites, await produceAndRead(source, sites, `s${sites}.`));
      } finally {
        await source.close();
      }
    });

    it(`Kafka, ${sites} sites: every site on its own partition, no partition empty`, async () => {
      await requireKafkaBroker(brokers);
      const source = await kafkaSource.create(kafkaSource.config.parse({ brokers }), ctx);
      try {
        expectOnePartitionPerSite(sites, await produceAndRead(source, sites, `${prefix}-${sites}-`));
      } finally {
        await source.close();
      }
    });
  }
});
