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
});
