/**
 * Evidently itself as the reference for the drift module's test selection, column types and
 * scores. pandas is pinned below 3: evidently 0.7.21 does not import with pandas 3.
 */
import { pinnedVenv } from './pinned-venv.js';

export const EVIDENTLY_VERSION = '0.7.21';
const venv = pinnedVenv({
  name: 'evidently',
  pins: [`evidently==${EVIDENTLY_VERSION}`, 'pandas==2.3.3', 'numpy==2.4.6', 'scipy==1.17.1'],
  check: `import evidently, pandas; assert evidently.__version__ == '${EVIDENTLY_VERSION}'; from evidently import Report`,
  installTimeoutMs: 840_000,
  runTimeoutMs: 600_000,
});
export const ensureEvidently = () => venv.ensure();
export const runEvidently = <T>(script: string, payload: unknown) => venv.run<T>(script, payload);
