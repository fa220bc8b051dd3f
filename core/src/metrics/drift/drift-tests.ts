/**
 * The drift tests by name, with what Evidently registers for each: display name (the
 * label Evidently reports, e.g. in `ValueDrift(method=…)`), statistic kind, default
 * threshold and the column types it accepts when chosen explicitly.
 */
import type { DriftColumnType } from './binning.js';
import { chiSquareTest } from './chi-square.js';
import { jensenShannonTest } from './jensen-shannon.js';
import { ksTest } from './ks-two-sample.js';
import { psiTest } from './psi.js';
import type { DriftTestName, DriftTestResult } from './result.js';
import type { DriftValue } from './sample.js';
import { wassersteinTest } from './wasserstein.js';
import { zTest } from './z-test.js';

export interface DriftTestInfo {
  name: DriftTestName;
  displayName: string;
  kind: 'p_value' | 'distance';
  defaultThreshold: number;
  /** Drift when statistic < threshold (`below`), ≤ (`at-or-below`, KS) or ≥ (`at-or-above`, distances). */
  rule: 'below' | 'at-or-below' | 'at-or-above';
  columnTypes: readonly DriftColumnType[];
  run(
    reference: ArrayLike<DriftValue>,
    current: ArrayLike<DriftValue>,
    options: { threshold?: number; columnType: DriftColumnType },
  ): DriftTestResult;
}

export const driftTests: Readonly<Record<DriftTestName, DriftTestInfo>> = {
  ks: {
    name: 'ks',
    displayName: 'K-S p_value',
    kind: 'p_value',
    defaultThreshold: 0.05,
    rule: 'at-or-below',
    columnTypes: ['numerical'],
    run: (r, c, o) => ksTest(r, c, o),
  },
  chisquare: {
    name: 'chisquare',
    displayName: 'chi-square p_value',
    kind: 'p_value',
    defaultThreshold: 0.05,
    rule: 'below',
    columnTypes: ['categorical'],
    run: (r, c, o) => chiSquareTest(r, c, o),
  },
  z: {
    name: 'z',
    displayName: 'Z-test p_value',
    kind: 'p_value',
    defaultThreshold: 0.05,
    rule: 'below',
    columnTypes: ['categorical'],
    run: (r, c, o) => zTest(r, c, o),
  },
  wasserstein: {
    name: 'wasserstein',
    displayName: 'Wasserstein distance (normed)',
    kind: 'distance',
    defaultThreshold: 0.1,
    rule: 'at-or-above',
    columnTypes: ['numerical'],
    run: (r, c, o) => wassersteinTest(r, c, o),
  },
  jensenshannon: {
    name: 'jensenshannon',
    displayName: 'Jensen-Shannon distance',
    kind: 'distance',
    defaultThreshold: 0.1,
    rule: 'at-or-above',
    columnTypes: ['categorical', 'numerical'],
    run: (r, c, o) => jensenShannonTest(r, c, o),
  },
  psi: {
    name: 'psi',
    displayName: 'PSI',
    kind: 'distance',
    defaultThreshold: 0.1,
    rule: 'at-or-above',
    columnTypes: ['categorical', 'numerical'],
    run: (r, c, o) => psiTest(r, c, o),
  },
};
