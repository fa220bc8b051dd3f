/**
 * Dataset drift as Evidently reports it: each column's drift (column-drift.ts), the share
 * of drifted columns, and dataset drift when that share ≥ `driftShare` (default 0.5).
 */
import { VigilError } from '../../errors.js';
import { type ColumnDriftOptions, type ColumnDriftResult, columnDrift } from './column-drift.js';
import type { DriftValue } from './sample.js';

export interface DatasetDriftColumn extends ColumnDriftOptions {
  name: string;
  reference: ArrayLike<DriftValue>;
  current: ArrayLike<DriftValue>;
}

export interface DatasetDriftResult {
  columns: ColumnDriftResult[];
  driftedColumns: number;
  /** driftedColumns / columns. */
  share: number;
  driftShare: number;
  drifted: boolean;
}

export function datasetDrift(
  columns: readonly DatasetDriftColumn[],
  options: { driftShare?: number; rule?: ColumnDriftOptions['rule'] } = {},
): DatasetDriftResult {
  const driftShare = options.driftShare ?? 0.5;
  if (!(typeof driftShare === 'number' && driftShare >= 0 && driftShare <= 1))
    throw new VigilError(
      'VIGIL_DRIFT_INVALID_INPUT',
      `datasetDrift: driftShare is ${String(driftShare)}; it must lie in [0, 1]`,
      {
        details: { argument: 'driftShare' },
      },
    );
  if (!Array.isArray(columns) || columns.length === 0)
    throw new VigilError(
      'VIGIL_DRIFT_INVALID_INPUT',
      'datasetDrift: columns is empty; give at least one column',
      {
        details: { argument: 'columns' },
      },
    );
  const names = new Set<string>();
  const results = columns.map((c, i) => {
    if (typeof c?.name !== 'string' || c.name === '')
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `datasetDrift: columns[${i}].name must be a non-empty string`,
        {
          details: { argument: `columns[${i}].name` },
        },
      );
    if (names.has(c.name))
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `datasetDrift: column ${JSON.stringify(c.name)} is given twice`,
        {
          details: { argument: `columns[${i}].name` },
        },
      );
    names.add(c.name);
    const { name, reference, current, ...columnOptions } = c;
    return columnDrift(reference, current, { rule: options.rule, ...columnOptions }, name);
  });
  const driftedColumns = results.filter((r) => r.drifted).length;
  const share = driftedColumns / results.length;
  return { columns: results, driftedColumns, share, driftShare, drifted: share >= driftShare };
}
