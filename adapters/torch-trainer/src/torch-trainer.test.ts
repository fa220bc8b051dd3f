import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeOnnxModel, toSequences } from '@vigil/adapter-node-trainer';
import { isVigilError, type TrainingSet } from '@vigil/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vigilInitializerName } from './onnx/torch-tcn-onnx.js';
import { temporalSet } from './testing/temporal-set.js';
import { torchUnavailable } from './testing/torch-available.js';
import { TorchTrainer, torchTrainer } from './torch-trainer.js';
import { defaultTorchPython } from './torch-trainer-config.js';

const missing = torchUnavailable();
const train = temporalSet(1, 60, 20);
const validation = temporalSet(2, 30, 20);
const params = { sequenceLength: 5, blocks: 2, hidden: 8, maxEpochs: 6, batchSize: 64, learningRate: 0.005 };

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; error: unknown }> {
  try {
    await promise;
  } catch (error) {
    return {
      code: isVigilError(error) ? error.code : 'not a VigilError',
      message: (error as Error).message,
      error,
    };
  }
  throw new Error('expected a rejection');
}

/** Python processes this test process started that are still alive. */
function childPythons(): string[] {
  const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], {
    encoding: 'utf8',
  }).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes('tcn-worker.py'))
    .map((l) => l.trim());
}

describe('torch trainer: descriptor and config', () => {
  it('is the trainer port adapter named torch with gpu, tcn and cancellation', () => {
    expect(torchTrainer.port).toBe('trainer');
    expect(torchTrainer.name).toBe('torch');
    expect(torchTrainer.capabilities).toEqual({ gpu: true, algorithms: ['tcn'], cancellable: true, explain: false });
    expect(torchTrainer.config.parse({})).toEqual({
      device: 'auto',
      threads: 1,
      idleTimeoutMs: 600_000,
      keepWorkFiles: false,
      scorerCacheSize: 16,
    });
    expect(() => torchTrainer.config.parse({ device: 'tpu' })).toThrow();
    expect(() => torchTrainer.config.parse({ threads: 0 })).toThrow();
    expect(() => torchTrainer.config.parse({ colour: 'red' })).toThrow();
  });

  it('finds the python of `scripts/services up torch` without env vars', () => {
    expect(defaultTorchPython({ VIGIL_TORCH_PYTHON: '/opt/py' })).toBe('/opt/py');
    const cache = join(tmpdir(), 'no-such-vigil-cache');
    expect(defaultTorchPython({ VIGIL_CACHE: cache })).toBe('/usr/bin/python3');
    const env = execFileSync('bash', [join(import.meta.dirname, '../../../scripts/services'), 'env'], {
      encoding: 'utf8',
    });
    const line = env.split('\n').find((l) => l.startsWith('export VIGIL_TORCH_PYTHON='));
    expect(line).toBeDefined();
    // With the service installed, the adapter's default is the interpreter `env` prints.
    if (missing === undefined && !process.env.VIGIL_TORCH_PYTHON) {
      expect(defaultTorchPython({ VIGIL_CACHE: process.env.VIGIL_CACHE })).toBe(
        line!.slice(line!.indexOf('=') + 1),
      );
    }
  });

  it('maps torch state_dict names to the TS TCN initializer names', () => {
    expect(vigilInitializerName('blocks.0.conv1.weight')).toBe('tcn_b0_conv1_w');
    expect(vigilInitializerName('blocks.12.res.bias')).toBe('tcn_b12_res_b');
    expect(vigilInitializerName('head_w')).toBe('tcn_head_w');
    expect(vigilInitializerName('mean')).toBe('tcn_mean');
    expect(vigilInitializerName('onnx::Slice_7')).toBeUndefined();
  });

  it('rejects other algorithms and bad params with VIGIL_TRAINER_INVALID_SPEC naming the field, before any worker', async () => {
    const trainer = new TorchTrainer({ python: '/nonexistent/python' });
    const gbt = await failure(trainer.train(train, { algorithm: 'gbt', params: {}, seed: 1 }));
    expect(gbt.code).toBe('VIGIL_TRAINER_INVALID_SPEC');
    expect(gbt.message).toMatch(/spec\.algorithm 'gbt'.*tcn/);
    const hidden = await failure(trainer.train(train, { algorithm: 'tcn', params: { hidden: 0 }, seed: 1 }));
    expect(hidden.code).toBe('VIGIL_TRAINER_INVALID_SPEC');
    expect(hidden.message).toMatch(/spec\.params\.hidden/);
    const calibration = await failure(
      trainer.train(train, { algorithm: 'tcn', params: { calibration: 'platt' }, seed: 1 }),
    );
    expect(calibration.message).toMatch(/spec\.params\.calibration 'platt' needs options\.validation/);
    const infinite: TrainingSet = { ...train, x: Float32Array.from(train.x) };
    infinite.x[9] = Number.POSITIVE_INFINITY;
    const bad = await failure(trainer.train(infinite, { algorithm: 'tcn', params, seed: 1 }));
    expect(bad.code).toBe('VIGIL_TRAINER_INVALID_DATASET');
    expect(bad.message).toMatch(/data\.x has an infinite value at row 2, feature 'rate'/);
  });

  it('a missing interpreter is VIGIL_TRAINER_WORKER_FAILED with the install hint', async () => {
    const trainer = new TorchTrainer({ python: '/nonexistent/python' });
    const error = await failure(trainer.train(train, { algorithm: 'tcn', params, seed: 1 }));
    expect(error.code).toBe('VIGIL_TRAINER_WORKER_FAILED');
    expect(error.message).toMatch(/could not start the worker with '\/nonexistent\/python' \(ENOENT\)/);
    expect(error.message).toMatch(/bash scripts\/services up torch/);
  });
});

describe('torch trainer: a worker that dies or goes silent never hangs train()', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-torch-stub-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** An interpreter stand-in running `body` (sh), to drive the supervision paths a real worker rarely takes. */
  async function stub(name: string, body: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  it('killed by a signal mid-run: VIGIL_TRAINER_WORKER_FAILED with the signal and its last stderr lines', async () => {
    const python = await stub(
      'segv',
      `echo '{"event":"ready","device":"cpu","torch":"stub","threads":1}'\necho 'RuntimeError: CUDA error: an illegal memory access' >&2\nkill -SEGV $$`,
    );
    const progress: string[] = [];
    const error = await failure(
      new TorchTrainer({ python }).train(
        train,
        { algorithm: 'tcn', params, seed: 1 },
        { onProgress: (p) => progress.push(p.message ?? '') },
      ),
    );
    expect(progress).toEqual(['worker ready on cpu']);
    expect(error.code).toBe('VIGIL_TRAINER_WORKER_FAILED');
    expect(error.message).toMatch(/killed by SIGSEGV/);
    expect(error.message).toMatch(/CUDA error: an illegal memory access/);
  });

  it('silent for idleTimeoutMs: killed, VIGIL_TRAINER_WORKER_FAILED naming the setting', async () => {
    const python = await stub('silent', 'echo starting >&2\nexec sleep 60');
    const started = performance.now();
    const error = await failure(
      new TorchTrainer({ python, idleTimeoutMs: 1000 }).train(train, { algorithm: 'tcn', params, seed: 1 }),
    );
    expect(error.code).toBe('VIGIL_TRAINER_WORKER_FAILED');
    expect(error.message).toMatch(/reported nothing for 1000 ms.*idleTimeoutMs/);
    expect(error.message).toMatch(/starting/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('exits 0 without a done line: VIGIL_TRAINER_WORKER_FAILED, and the scratch folder is removed', async () => {
    const python = await stub('quiet', 'exit 0');
    const workdir = join(dir, 'runs');
    const error = await failure(
      new TorchTrainer({ python, workdir }).train(train, { algorithm: 'tcn', params, seed: 1 }),
    );
    expect(error.code).toBe('VIGIL_TRAINER_WORKER_FAILED');
    expect(error.message).toMatch(/exited with status 0 without writing a model/);
    expect(await readdir(workdir)).toEqual([]);
  });
});

describe.skipIf(missing !== undefined)(
  missing ? `torch trainer with the real worker (skipped: ${missing})` : 'torch trainer with the real worker',
  () => {
    const trainer = new TorchTrainer({ device: 'cpu' });
    afterAll(() => trainer.close());

    it('same data, params and seed give the same ONNX bytes and metrics; another seed does not', async () => {
      const spec = { algorithm: 'tcn', params: { ...params, calibration: 'isotonic' }, seed: 11 };
      const a = await trainer.train(train, spec, { validation });
      const b = await trainer.train(train, spec, { validation });
      const c = await trainer.train(train, { ...spec, seed: 12 }, { validation });
      expect(Buffer.from(a.artifact.bytes).equals(Buffer.from(b.artifact.bytes))).toBe(true);
      expect(a.artifact.sha256).toBe(b.artifact.sha256);
      expect(a.metrics).toEqual(b.metrics);
      expect(c.artifact.sha256).not.toBe(a.artifact.sha256);
      const model = decodeOnnxModel(a.artifact.bytes);
      expect(model.producerName).toBe('vigil');
      expect(model.metadata.get('vigil.calibration')).toBe('isotonic');
      expect(a.params).toMatchObject({ ...params, calibration: 'isotonic', patience: 5, dropout: 0.1 });
      expect(a.metrics.epochs).toBeGreaterThan(0);
      expect(a.metrics.best_epoch).toBeGreaterThan(0);
    });

    it('an abort after the first epoch kills the worker and rejects with VIGIL_TRAINER_CANCELLED', async () => {
      const big = temporalSet(4, 400, 25);
      const controller = new AbortController();
      let abortedAt = 0;
      const epochs: number[] = [];
      const error = await failure(
        trainer.train(
          big,
          {
            algorithm: 'tcn',
            params: { sequenceLength: 14, hidden: 32, blocks: 3, maxEpochs: 200 },
            seed: 1,
          },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.metrics?.epoch === undefined) return;
              epochs.push(p.metrics.epoch);
              abortedAt = performance.now();
              controller.abort();
            },
          },
        ),
      );
      expect(error.code).toBe('VIGIL_TRAINER_CANCELLED');
      expect(epochs).toEqual([1]);
      expect(performance.now() - abortedAt).toBeLessThan(2000);
      expect(childPythons()).toEqual([]);
    });

    it('close() during training kills the worker: train rejects with VIGIL_TRAINER_CANCELLED', async () => {
      const own = new TorchTrainer({ device: 'cpu' });
      const running = own.train(
        temporalSet(5, 400, 25),
        { algorithm: 'tcn', params: { sequenceLength: 14, maxEpochs: 200 }, seed: 1 },
        {
          onProgress: (p) => {
            if (p.message?.startsWith('worker ready')) void own.close();
          },
        },
      );
      const error = await failure(running);
      expect(error.code).toBe('VIGIL_TRAINER_CANCELLED');
      expect(childPythons()).toEqual([]);
      await expect(own.train(train, { algorithm: 'tcn', params, seed: 1 })).rejects.toThrow(/after close/);
    });

    it("asking for CUDA where torch sees no GPU is VIGIL_TRAINER_WORKER_FAILED with the worker's traceback", async (ctx) => {
      const probe = spawnSync(
        defaultTorchPython(),
        ['-c', 'import torch; print(torch.cuda.is_available())'],
        {
          encoding: 'utf8',
        },
      );
      if (probe.stdout.trim() === 'True') ctx.skip('this machine has a GPU');
      const error = await failure(
        new TorchTrainer({ device: 'cuda' }).train(train, { algorithm: 'tcn', params, seed: 1 }),
      );
      expect(error.code).toBe('VIGIL_TRAINER_WORKER_FAILED');
      expect(error.message).toMatch(/exited with status 2: RuntimeError: device 'cuda' was asked for/);
      expect(error.message).toMatch(/Traceback/);
    });

    it('predict takes [rows, L·d] sequences and rejects another width naming rows × features', async () => {
      const { artifact } = await trainer.train(train, {
        algorithm: 'tcn',
        params: { ...params, maxEpochs: 1 },
        seed: 2,
      });
      const seq = toSequences(validation, params.sequenceLength);
      const scores = await trainer.predict(artifact, seq, validation.y.length);
      expect(scores.length).toBe(validation.y.length);
      const bad = await failure(trainer.predict(artifact, validation.x, validation.y.length));
      expect(bad.code).toBe('VIGIL_TRAINER_INVALID_DATASET');
      expect(bad.message).toMatch(/rows × features = 600 × 20/);
    });
  },
);
