import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { VigilError } from '@vigil/core';

/** `{"event": "ready", …}`: torch imported, device chosen. */
export interface WorkerReady {
  event: 'ready';
  device: 'cpu' | 'cuda';
  torch: string;
  threads: number;
}

/** `{"event": "epoch", …}`: one training epoch done. */
export interface WorkerEpoch {
  event: 'epoch';
  epoch: number;
  train_loss: number;
  val_loss?: number;
  /** Wall time of the epoch's training pass (not the validation pass). */
  seconds: number;
}

/** `{"event": "done", …}`: the ONNX file is written. */
export interface WorkerDone {
  event: 'done';
  epochs: number;
  best_epoch: number;
  epoch_seconds: number;
  onnx: string;
  device: 'cpu' | 'cuda';
}

export type WorkerEvent = WorkerReady | WorkerEpoch | WorkerDone;

export interface RunWorkerOptions {
  python: string;
  script: string;
  jobPath: string;
  threads: number;
  signal: AbortSignal;
  idleTimeoutMs: number;
  /** Called for ready and epoch lines (the done line resolves the promise). A throw kills the worker. */
  onEvent(event: WorkerReady | WorkerEpoch): void;
  /** Lines of stderr kept for error messages. */
  stderrLines?: number;
}

function failed(message: string, details?: Record<string, unknown>, cause?: unknown): VigilError {
  return new VigilError('VIGIL_TRAINER_WORKER_FAILED', message, {
    ...(details ? { details } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Run the Python worker on a job file and follow its JSON-lines protocol (see worker/tcn-worker.py).
 * Resolves with its `done` line once it exits with status 0. Rejects with
 * `VIGIL_TRAINER_CANCELLED` when `signal` aborts (the worker is SIGKILLed first) and with
 * `VIGIL_TRAINER_WORKER_FAILED` — carrying the worker's last stderr lines — when it cannot start,
 * exits without a model, or reports nothing for `idleTimeoutMs`. Never waits on a dead worker: the
 * promise settles on the child's `close` (or spawn `error`).
 */
export function runWorker(options: RunWorkerOptions): Promise<WorkerDone> {
  const { signal } = options;
  if (signal.aborted)
    return Promise.reject(new VigilError('VIGIL_TRAINER_CANCELLED', 'training was cancelled'));
  const keep = options.stderrLines ?? 20;
  return new Promise<WorkerDone>((resolve, reject) => {
    const threads = String(options.threads);
    const child = spawn(options.python, ['-u', options.script, options.jobPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        OMP_NUM_THREADS: threads,
        MKL_NUM_THREADS: threads,
        OPENBLAS_NUM_THREADS: threads,
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
      },
    });
    const tail: string[] = [];
    const remember = (line: string) => {
      if (line.trim() === '') return;
      tail.push(line);
      if (tail.length > keep) tail.shift();
    };
    let stop: { kind: 'cancelled' } | { kind: 'timeout' } | { kind: 'callback'; error: unknown } | undefined;
    let done: WorkerDone | undefined;
    let reported: string | undefined;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;

    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stop ??= { kind: 'timeout' };
        kill();
      }, options.idleTimeoutMs);
    };
    const onAbort = () => {
      stop ??= { kind: 'cancelled' };
      kill();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    armIdle();

    const finish = (error: unknown, value?: WorkerDone) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(value!);
    };
    const stderrText = () =>
      tail.length > 0 ? `; last stderr lines:\n${tail.join('\n')}` : '; it wrote nothing to stderr';

    // The worker's stdin stays open: the worker exits when it closes, i.e. when this process dies.
    child.stdin.on('error', () => {});
    child.stderr.setEncoding('utf8');
    let partial = '';
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) remember(line);
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => {
      let event: { event?: unknown; message?: unknown } | undefined;
      if (line.startsWith('{')) {
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          event = undefined;
        }
      }
      if (!event || typeof event.event !== 'string') {
        remember(line);
        return;
      }
      armIdle();
      if (event.event === 'done') {
        done = event as WorkerDone;
        return;
      }
      if (event.event === 'error') {
        reported = String(event.message);
        return;
      }
      if (event.event === 'ready' || event.event === 'epoch') {
        if (stop) return;
        try {
          options.onEvent(event as WorkerReady | WorkerEpoch);
        } catch (error) {
          stop ??= { kind: 'callback', error };
          kill();
        }
      }
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      kill();
      finish(
        failed(
          `torch trainer: could not start the worker with '${options.python}' (${error.code ?? error.message}); install torch with \`bash scripts/services up torch\` or set the adapter's python`,
          { python: options.python },
          error,
        ),
      );
    });
    child.on('close', (code, sig) => {
      if (partial) remember(partial);
      if (stop?.kind === 'cancelled') {
        finish(
          new VigilError('VIGIL_TRAINER_CANCELLED', 'training was cancelled (the torch worker was killed)'),
        );
      } else if (stop?.kind === 'callback') {
        finish(stop.error);
      } else if (stop?.kind === 'timeout') {
        finish(
          failed(
            `torch trainer: the worker reported nothing for ${options.idleTimeoutMs} ms and was killed (config idleTimeoutMs)${stderrText()}`,
            { stderr: [...tail] },
          ),
        );
      } else if (code === 0 && done) {
        finish(undefined, done);
      } else {
        const how = code === null ? `was killed by ${sig}` : `exited with status ${code}`;
        const what = reported ? `: ${reported}` : code === 0 ? ' without writing a model' : '';
        finish(
          failed(`torch trainer: the worker ${how}${what}${stderrText()}`, {
            exitCode: code,
            signal: sig,
            stderr: [...tail],
          }),
        );
      }
    });
  });
}
