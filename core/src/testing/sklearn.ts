/** scikit-learn as the independent reference for tests (metric parity, calibration parity). */
import { pinnedVenv } from './pinned-venv.js';

export const SKLEARN_VERSION = '1.9.1';
const venv = pinnedVenv({
  name: 'sklearn',
  pins: [`scikit-learn==${SKLEARN_VERSION}`, 'numpy==2.4.6'],
  check: `import sklearn, numpy; assert sklearn.__version__ == '${SKLEARN_VERSION}'`,
  installTimeoutMs: 540_000,
});
export const ensureSklearn = () => venv.ensure();
export const runSklearn = <T>(script: string, payload: unknown) => venv.run<T>(script, payload);
