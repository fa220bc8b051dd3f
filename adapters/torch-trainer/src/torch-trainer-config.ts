import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** Where the worker may run: `auto` takes CUDA when torch sees a GPU, else the CPU. */
export const TORCH_DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type TorchDevice = (typeof TORCH_DEVICES)[number];

export const torchTrainerConfig = z.strictObject({
  python: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Python interpreter that imports torch and pyarrow. Default: $VIGIL_TORCH_PYTHON, else the venv `bash scripts/services up torch` creates ($VIGIL_CACHE/torch/venv/bin/python, VIGIL_CACHE defaulting to ~/.cache/vigil).',
    ),
  device: z
    .enum(TORCH_DEVICES)
    .default('auto')
    .describe(
      "Where torch trains: 'auto' (CUDA when available, else CPU), 'cpu' or 'cuda' (fails when torch sees no GPU).",
    ),
  threads: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(1)
    .describe(
      'CPU threads torch may use (torch.set_num_threads, OMP_NUM_THREADS). 1 keeps runs deterministic and fast on a shared machine.',
    ),
  idleTimeoutMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3_600_000)
    .default(600_000)
    .describe(
      'The worker is killed (VIGIL_TRAINER_WORKER_FAILED) when it reports nothing (no ready, epoch or done line) for this long.',
    ),
  workdir: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Folder for each run's scratch files (Arrow data, job, ONNX). Default: <run workdir>/torch-trainer, or the OS temp folder without a kernel context.",
    ),
  keepWorkFiles: z
    .boolean()
    .default(false)
    .describe("Keep each run's scratch folder after training (for debugging the worker)."),
  scorerCacheSize: z
    .number()
    .int()
    .min(0)
    .max(1024)
    .default(16)
    .describe('How many decoded artifacts `predict` keeps ready, by sha256 (0 disables the cache).'),
});

export type TorchTrainerConfig = z.output<typeof torchTrainerConfig>;

/**
 * The interpreter the worker runs on when `python` is not configured: `$VIGIL_TORCH_PYTHON`, else
 * the venv of `scripts/services up torch` (`$VIGIL_CACHE/torch/venv/bin/python`), else Debian's
 * `/usr/bin/python3` when that venv does not exist (it has torch but not pyarrow, so the worker
 * then fails with pyarrow's import error and the hint to run the service script).
 */
export function defaultTorchPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIGIL_TORCH_PYTHON) return env.VIGIL_TORCH_PYTHON;
  const cache = env.VIGIL_CACHE || join(homedir(), '.cache', 'vigil');
  const venv = join(cache, 'torch', 'venv', 'bin', 'python');
  return existsSync(venv) ? venv : '/usr/bin/python3';
}
