import { spawnSync } from 'node:child_process';
import { defaultTorchPython } from '../torch-trainer-config.js';

/**
 * Why the torch worker cannot run here (undefined when it can): the default interpreter must find
 * torch and import pyarrow. Tests skip with this reason; `bash scripts/services up torch` (in the
 * root `pretest`) installs both.
 */
export function torchUnavailable(python = defaultTorchPython()): string | undefined {
  const probe = spawnSync(
    python,
    ['-c', 'import importlib.util as u, sys, pyarrow; sys.exit(0 if u.find_spec("torch") else 3)'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (probe.error)
    return `torch is not installed: cannot run ${python} (${probe.error.message}); run \`bash scripts/services up torch\``;
  if (probe.status === 3)
    return `torch is not installed: ${python} cannot find torch; run \`bash scripts/services up torch\``;
  if (probe.status !== 0) {
    return `torch is not installed: ${python} cannot import pyarrow (${probe.stderr.trim().split('\n').at(-1)}); run \`bash scripts/services up torch\``;
  }
  return undefined;
}
