/**
 * A training batch cut into shards of {@link SHARD_SEQUENCES} sequences. Each shard's forward and
 * backward pass runs on its own (any thread may take any shard) into its own gradient slot, and
 * the slots are summed in shard order; dropout masks depend on the sequence's place in the batch,
 * not on the shard or thread (see dropoutHash). So the gradient, and the trained bytes, are the
 * same whatever the number of threads.
 *
 * This module must not import @vigil/* packages: the worker loads it on its own (tcn-worker.ts).
 */

import { type TcnShape, TcnWorkspace, tcnLayout } from './tcn-model.js';

/** Sequences per shard (the last shard of a batch may have fewer). */
export const SHARD_SEQUENCES = 32;

export function shardCount(batch: number): number {
  return Math.ceil(batch / SHARD_SEQUENCES);
}

/** What the threads of one training run share (on SharedArrayBuffers when there are workers). */
export interface ShardBuffers {
  /** Standardised training sequences `[rows, L·d]`. */
  z: Float32Array;
  /** Labels (0/1) of the training rows. */
  y: Uint8Array;
  /** This epoch's order of the training rows; a batch is `order[from .. from + n)`. */
  order: Uint32Array;
  /** The parameters (float32, as exported). */
  theta: Float32Array;
  /** One gradient slot per shard of a full batch: `[shardCount(batchSize), size]`. */
  grads: Float64Array;
  /** Logits of the current batch, in batch order. */
  logits: Float64Array;
  /** `[0]`: the next shard to take (Atomics.add). */
  sync: Int32Array;
}

export interface ShardSetup {
  shape: TcnShape;
  dropout: number;
  buffers: ShardBuffers;
}

/** One batch: `order[from .. from + n)`, with the dropout seed of this batch. */
export interface ShardBatch {
  from: number;
  n: number;
  seed: number;
}

/** One thread's workspace for computing shards. */
export class ShardComputer {
  readonly #workspace: TcnWorkspace;
  readonly #buffers: ShardBuffers;
  readonly #dropout: number;
  readonly #width: number;
  readonly #size: number;
  readonly #x: Float32Array;
  readonly #dLogits: Float64Array;
  readonly #slots: Float64Array[];

  constructor({ shape, dropout, buffers }: ShardSetup) {
    const layout = tcnLayout(shape);
    this.#workspace = new TcnWorkspace(layout, SHARD_SEQUENCES);
    this.#buffers = buffers;
    this.#dropout = dropout;
    this.#width = shape.steps * shape.features;
    this.#size = layout.size;
    this.#x = new Float32Array(SHARD_SEQUENCES * this.#width);
    this.#dLogits = new Float64Array(SHARD_SEQUENCES);
    const slots = buffers.grads.length / layout.size;
    this.#slots = Array.from({ length: slots }, (_, k) =>
      buffers.grads.subarray(k * layout.size, (k + 1) * layout.size),
    );
  }

  /**
   * Forward and backward pass of shard k of the batch: its logits into `logits`, its gradient of
   * the batch's mean binary cross-entropy into gradient slot k (overwritten).
   */
  compute(k: number, batch: ShardBatch): void {
    const { z, y, order, theta, logits } = this.#buffers;
    const width = this.#width;
    const first = k * SHARD_SEQUENCES;
    const m = Math.min(SHARD_SEQUENCES, batch.n - first);
    const x = this.#x;
    for (let s = 0; s < m; s++) {
      const from = order[batch.from + first + s]! * width;
      const to = s * width;
      for (let i = 0; i < width; i++) x[to + i] = z[from + i]!;
    }
    const out = this.#workspace.forward(x, m, theta, this.#dropout, batch.seed, first);
    const dLogits = this.#dLogits;
    for (let s = 0; s < m; s++) {
      const logit = out[s]!;
      logits[first + s] = logit;
      const p = 1 / (1 + Math.exp(-logit));
      dLogits[s] = (p - y[order[batch.from + first + s]!]!) / batch.n;
    }
    this.#workspace.backward(dLogits, m, theta, this.#slots[k]!, true);
  }

  /** Take shards from `sync[0]` until none is left (the calling thread's share of a batch). */
  drain(batch: ShardBatch): void {
    const shards = shardCount(batch.n);
    const sync = this.#buffers.sync;
    for (let k = Atomics.add(sync, 0, 1); k < shards; k = Atomics.add(sync, 0, 1)) this.compute(k, batch);
  }

  /** Sum the batch's shard gradients, in shard order, into `grad`. */
  reduce(batch: ShardBatch, grad: Float64Array): void {
    const shards = shardCount(batch.n);
    const size = this.#size;
    grad.set(this.#slots[0]!);
    for (let k = 1; k < shards; k++) {
      const slot = this.#slots[k]!;
      for (let i = 0; i < size; i++) grad[i] = grad[i]! + slot[i]!;
    }
  }
}
