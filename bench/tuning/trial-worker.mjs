// Worker-thread entry: loader hooks registered with `--import tsx` on the main thread do not
// reach worker threads on Node 20, so the worker registers tsx itself, then loads the TS worker.
import { register } from 'tsx/esm/api';

register();
await import('./trial-worker.ts');
