/**
 * Worker thread of a TCN training run (see tcn-pool.ts): takes shards of each batch it is told
 * about, then answers. Imports only tcn-shards/tcn-model (no @vigil/* packages).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ShardBatch, ShardComputer, type ShardSetup } from './tcn-shards.js';

const computer = new ShardComputer(workerData as ShardSetup);
const port = parentPort!;
port.on('message', (batch: ShardBatch) => {
  computer.drain(batch);
  port.postMessage(0);
});
port.postMessage('ready');
