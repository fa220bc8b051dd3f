import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VigilError } from '@vigil/core';
import type { ShardBatch, ShardSetup } from './tcn-shards.js';

/** tsx's ESM `register` API (the import condition of `tsx/esm/api`), found from this file. */
function tsxApi(here: string): string {
  const manifest = createRequire(here).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(manifest)).href;
}

/**
 * Start a worker running tcn-worker. From the built package that is `tcn-worker.js` next to this
 * file. From TypeScript source (tests, `tsx`) the worker needs a TypeScript loader, and Node 20
 * workers do not run the parent's `--import` hooks: the worker registers tsx's loader itself
 * (tsx is a development dependency of the repository) before importing the entry.
 */
function spawn(setup: ShardSetup): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./tcn-worker.js', here), { workerData: setup });
  const entry = new URL('./tcn-worker.ts', here).href;
  const code = `import(${JSON.stringify(tsxApi(here))}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: setup });
}

function failed(message: string, cause?: unknown): VigilError {
  return new VigilError('VIGIL_TRAINER_WORKER_FAILED', `tcn: ${message}`, { cause });
}

/**
 * Worker threads that take shards of each batch alongside the calling thread (see tcn-shards.ts).
 * `run` tells every worker about a batch and resolves when all of them found no shard left.
 */
export class ShardPool {
  readonly #workers: Worker[];
  #pending: { left: number; resolve: () => void; reject: (e: unknown) => void } | null = null;
  #error: unknown = null;
  #closed = false;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    for (const worker of workers) {
      worker.on('message', () => {
        const pending = this.#pending;
        if (pending && --pending.left === 0) {
          this.#pending = null;
          pending.resolve();
        }
      });
      const fail = (error: unknown) => {
        if (this.#closed) return;
        this.#error ??= error;
        const pending = this.#pending;
        this.#pending = null;
        pending?.reject(failed('a training worker thread failed', error));
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`worker thread exited with code ${code}`)));
    }
  }

  /** `count` workers, each ready (its module loaded); rejects (after stopping them) if one fails to start. */
  static async start(count: number, setup: ShardSetup): Promise<ShardPool> {
    const workers: Worker[] = [];
    const ready = (worker: Worker) =>
      new Promise<void>((resolve, reject) => {
        const onMessage = () => settle(null);
        const onError = (error: unknown) => settle(error);
        const onExit = (code: number) => settle(new Error(`worker thread exited with code ${code}`));
        const settle = (error: unknown) => {
          worker.off('message', onMessage).off('error', onError).off('exit', onExit);
          if (error) reject(error);
          else resolve();
        };
        worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      });
    try {
      for (let i = 0; i < count; i++) workers.push(spawn(setup));
      await Promise.all(workers.map(ready));
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw failed('could not start training worker threads', error);
    }
    return new ShardPool(workers);
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Hand `batch` to every worker; resolves when each has found no shard left to take. */
  run(batch: ShardBatch): Promise<void> {
    if (this.#error) return Promise.reject(failed('a training worker thread failed', this.#error));
    return new Promise<void>((resolve, reject) => {
      this.#pending = { left: this.#workers.length, resolve, reject };
      for (const worker of this.#workers) worker.postMessage(batch);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
