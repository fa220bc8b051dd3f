/** The names of the drift tests, as Evidently registers them. */
export type DriftTestName = 'ks' | 'chisquare' | 'z' | 'wasserstein' | 'jensenshannon' | 'psi';

/** What one drift test decided for one column. */
export interface DriftTestResult {
  test: DriftTestName;
  /** `p_value` tests drift on small values, `distance` tests on large ones. */
  kind: 'p_value' | 'distance';
  /** The p-value or the distance. */
  statistic: number;
  threshold: number;
  drifted: boolean;
}
