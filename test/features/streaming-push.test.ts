import { fileLogSource } from '@vigil/adapter-file-log';
import type { Source } from '@vigil/core';
import { StreamingFeaturePush } from '@vigil/job-adverse-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Reading, rawEvent, type StoreWiring, windowDefinitions } from './window-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('streaming push on the embedded stack (file log → DuckDB online store)', () => {
  let wiring: StoreWiring;
  let source: Source;

  beforeAll(async () => {
    wiring = await openStore();
    source = await fileLogSource.create(fileLogSource.config.parse({ defaultPartitions: 2 }), wiring.ctx);
    await wiring.store.apply(windowDefinitions().views);
  });
  afterAll(async () => {
    await source?.close();
    await wiring?.close();
  });

  it('makes each event’s features visible online within a second, with its own consumer group', async () => {
    const definitions = windowDefinitions();
    await source.ensureTopic('vitals', { partitions: 2 });
    // Events already on the topic before the push starts are not replayed (group starts at 'latest').
    const before: Reading = {
      patientId: 'P-000000',
      observedAt: new Date('2026-01-05T00:00:00Z'),
      measure: 'heart_rate',
      value: 70,
      unit: 'bpm',
      canonical: 70,
    };
    await source.produce([{ topic: 'vitals', key: 'site-01', value: rawEvent(before, 0) }]);
    const push = new StreamingFeaturePush({
      source,
      store: wiring.store,
      windowed: definitions.windowed,
      group: 'test-feature-push',
      pollMs: 50,
    });
    await push.start();
    try {
      const latencies: number[] = [];
      for (let i = 1; i <= 12; i++) {
        const patientId = `P-${String(i).padStart(6, '0')}`;
        const reading: Reading = {
          patientId,
          observedAt: new Date(Date.UTC(2026, 0, 5, i)),
          measure: 'heart_rate',
          value: 60 + i,
          unit: i % 2 ? 'bpm' : 'beats/min',
          canonical: 60 + i,
        };
        const sent = performance.now();
        await source.produce([{ topic: 'vitals', key: `site-0${i % 3}`, value: rawEvent(reading, i) }]);
        for (;;) {
          const online = await wiring.store.getOnlineFeatures({
            features: ['vitals_window:hr_mean_24h', 'vitals_window:hr_count_24h'],
            entityRows: [{ patient_id: patientId }],
          });
          if (online.rows[0]!.vitals_window__hr_mean_24h === 60 + i) {
            expect(online.rows[0]!.vitals_window__hr_count_24h).toBe(1);
            break;
          }
          if (performance.now() - sent > 5000) throw new Error(`event ${i} not online after 5 s`);
          await sleep(5);
        }
        latencies.push(performance.now() - sent);
      }
      const max = Math.max(...latencies);
      expect(max, `latencies ${latencies.map((l) => l.toFixed(0)).join(', ')} ms`).toBeLessThan(1000);
      // A malformed payload and an out-of-range value are skipped and counted, not pushed.
      await source.produce([
        { topic: 'vitals', key: 'site-01', value: '{"kind":"vital"' },
        {
          topic: 'vitals',
          key: 'site-01',
          value: rawEvent({ ...before, patientId: 'P-000099', value: 900, canonical: 900 }, 99),
        },
      ]);
      const deadline = performance.now() + 3000;
      while (push.stats.consumed < 14 && performance.now() < deadline) await sleep(20);
      expect(push.stats.skipped).toEqual({ invalid_json: 1, out_of_range: 1 });
      // One row per event and windowed view.
      expect(push.stats.pushed).toBe(12 * definitions.windowed.length);
      const none = await wiring.store.getOnlineFeatures({
        features: ['vitals_window:hr_mean_24h'],
        entityRows: [{ patient_id: 'P-000000' }],
      });
      expect(none.rows[0]!.vitals_window__hr_mean_24h).toBeNull();
    } finally {
      await push.stop();
    }
    // The push committed its offsets under its own group: a new consumer of that group has nothing left.
    const consumer = await source.consumer({ group: 'test-feature-push', topics: ['vitals'] });
    try {
      expect(await consumer.poll({ timeoutMs: 100 })).toEqual([]);
    } finally {
      await consumer.close();
    }
  });
});
