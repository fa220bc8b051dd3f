/**
 * NVIDIA's tritonclient[http], the standard Open Inference Protocol client, as an independent
 * caller of our servers in tests.
 */
import { pinnedVenv } from './pinned-venv.js';

export const TRITONCLIENT_VERSION = '2.73.0';
const venv = pinnedVenv({
  name: 'tritonclient',
  pins: [`tritonclient[http]==${TRITONCLIENT_VERSION}`, 'numpy==2.4.6'],
  check: `import tritonclient.http, numpy; from importlib.metadata import version; assert version('tritonclient') == '${TRITONCLIENT_VERSION}'`,
  installTimeoutMs: 540_000,
});
export const ensureTritonclient = () => venv.ensure();
export const runTritonclient = <T>(script: string, payload: unknown) => venv.run<T>(script, payload);
