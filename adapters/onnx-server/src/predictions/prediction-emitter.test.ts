import type { Logger, PredictionRecord } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { type AnsweredBatch, PredictionEmitter } from './prediction-emitter.js';

const warnings: unknown[] = [];
const logger = {
  warn: (fields: unknown) => warnings.push(fields),
  info: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => logger,
} as unknown as Logger;

const answered = (i: number): AnsweredBatch => ({
  model: 'ae',
  version: '1',
  predictionIds: [`p${i}`],
  entityIds: [`k${i}`],
  pseudonymise: { entity: (id) => id, prediction: (id) => id },
  scores: [0.5],
  latencyMs: 1,
  fallback: false,
  at: new Date(0),
  x: Float32Array.from([i, Number.NaN]),
  width: 2,
  featureNames: ['a', 'b'],
});

describe('prediction emitter', () => {
  it('emits a large flush in chunks, in order, letting other work run between them', async () => {
    const calls: { ids: string[]; between: number }[] = [];
    let ticks = 0;
    const emitter = new PredictionEmitter(
      async (records: PredictionRecord[]) => {
        calls.push({ ids: records.map((r) => r.predictionId), between: ticks });
        // Work that is waiting (a request) gets the event loop before the next chunk.
        setImmediate(() => ticks++);
      },
      { maxRows: 10_000, maxDelayMs: 10_000, chunkRows: 64 },
      logger,
    );
    for (let i = 0; i < 150; i++) emitter.add(answered(i));
    await emitter.flush();
    expect(calls.map((c) => c.ids.length)).toEqual([64, 64, 22]);
    expect(calls.flatMap((c) => c.ids)).toEqual(Array.from({ length: 150 }, (_, i) => `p${i}`));
    expect(calls.map((c) => c.between)).toEqual([0, 1, 2]);
    expect(calls.length).toBe(3);
  });

  it('a failing chunk is logged and the next chunks are still emitted', async () => {
    warnings.length = 0;
    const emitted: string[] = [];
    let first = true;
    const emitter = new PredictionEmitter(
      async (records: PredictionRecord[]) => {
        if (first) {
          first = false;
          throw new Error('monitor down');
        }
        emitted.push(...records.map((r) => r.predictionId));
      },
      { maxRows: 10_000, maxDelayMs: 10_000, chunkRows: 2 },
      logger,
    );
    for (let i = 0; i < 5; i++) emitter.add(answered(i));
    await emitter.close();
    expect(emitted).toEqual(['p2', 'p3', 'p4']);
    expect(warnings).toEqual([{ reason: 'monitor down', rows: 2 }]);
  });

  it('flush resolves only when every row added so far is emitted, also those of a flush still in flight', async () => {
    const emitted: string[] = [];
    const emitter = new PredictionEmitter(
      async (records: PredictionRecord[]) => {
        // A slow hook (a monitor writing its journal): each chunk takes a few turns.
        await new Promise((resolve) => setTimeout(resolve, 5));
        emitted.push(...records.map((r) => r.predictionId));
      },
      { maxRows: 100, maxDelayMs: 10_000, chunkRows: 10 },
      logger,
    );
    // 100 rows: a maxRows flush starts on the next turn and emits 10 chunks, one after another.
    for (let i = 0; i < 100; i++) emitter.add(answered(i));
    await new Promise((resolve) => setImmediate(resolve));
    expect(emitted.length).toBeLessThan(100); // still in flight
    emitter.add(answered(100));
    await emitter.flush();
    // Every row, once (flushes in flight emit side by side, so not necessarily in order).
    expect([...emitted].sort()).toEqual(Array.from({ length: 101 }, (_, i) => `p${i}`).sort());
    // Nothing waiting and nothing in flight: resolves at once.
    await emitter.flush();
    expect(emitted).toHaveLength(101);
  });
});
