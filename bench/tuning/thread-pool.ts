/**
 * Evaluations on worker threads for the benchmark: `size` workers, each with its own
 * in-process node trainer over the benchmark's data folder (trial-worker.ts); `evaluate`
 * hands params to a free worker (or waits for one) and resolves with its mean fold AUROC.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Params } from '../../jobs/adverse-events/src/tuning/search-space.js';

const here = fileURLToPath(new URL('.', import.meta.url));

export async function threadPool(dir: string, seed: number, size: number) {
  const workers = await Promise.all(
    Array.from(
      { length: size },
      () =>
        new Promise<Worker>((resolve, reject) => {
          const w = new Worker(join(here, 'trial-worker.mjs'), {
            workerData: { dir, seed },
            execArgv: ['--conditions=@vigil/source'],
          });
          w.once('error', reject);
          w.once('message', () => resolve(w));
        }),
    ),
  );
  const idle = [...workers];
  const waiting: ((w: Worker) => void)[] = [];
  let id = 0;
  const evaluate = async (params: Params): Promise<number | null> => {
    const w = idle.pop() ?? (await new Promise<Worker>((r) => waiting.push(r)));
    try {
      const mine = id++;
      return await new Promise<number | null>((resolve, reject) => {
        const onMessage = (m: { id: number; value?: number | null; error?: string }) => {
          if (m.id !== mine) return;
          w.off('message', onMessage);
          if (m.error) reject(new Error(m.error));
          else resolve(m.value ?? null);
        };
        w.on('message', onMessage);
        w.postMessage({ id: mine, params });
      });
    } finally {
      const next = waiting.shift();
      if (next) next(w);
      else idle.push(w);
    }
  };
  return { evaluate, close: () => Promise.all(workers.map((w) => w.terminate())) };
}
