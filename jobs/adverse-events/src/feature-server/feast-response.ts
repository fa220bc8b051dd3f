import type { FeatureView, OnlineResult, ScalarValue } from '@vigil/core';

/** Feast's `FieldStatus` names (ServingService.proto). */
export type FieldStatus = 'INVALID' | 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE';

/** The JSON `feast serve` answers `POST /get-online-features` with: one entry per column. */
export interface FeastOnlineResponse {
  metadata: { feature_names: string[] };
  results: { values: ScalarValue[]; statuses: FieldStatus[]; event_timestamps: string[] }[];
}

/** Feast's zero timestamp, used for join keys and for values that were not found. */
export const EPOCH = '1970-01-01T00:00:00Z';

/** RFC 3339 with Feast's adaptive precision: no fraction on whole seconds, milliseconds otherwise. */
export function feastTimestamp(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/**
 * Turn a row-oriented OnlineResult into Feast's column-oriented response. `columnViews`
 * names the view of each feature column (after the join keys). Statuses follow Feast: join
 * keys PRESENT at the epoch; a feature PRESENT with its event timestamp, NOT_FOUND (null at
 * the epoch) when the entity has no stored row, OUTSIDE_MAX_AGE (value kept) when the row is
 * older than the view's ttl. A store that does not report event timestamps gives NOT_FOUND
 * for null values and PRESENT otherwise, at the epoch.
 */
export function feastResponse(
  result: OnlineResult,
  joinKeyCount: number,
  columnViews: readonly FeatureView[],
  now: Date,
): FeastOnlineResponse {
  const results = result.featureNames.map((name, c) => {
    const values = result.rows.map((row) => row[name] ?? null);
    if (c < joinKeyCount) {
      return {
        values,
        statuses: values.map(() => 'PRESENT' as const),
        event_timestamps: values.map(() => EPOCH),
      };
    }
    const view = columnViews[c - joinKeyCount];
    const statuses: FieldStatus[] = [];
    const stamps: string[] = [];
    result.rows.forEach((_, r) => {
      const known = result.eventTimestamps?.[r];
      if (!known) {
        statuses.push(values[r] === null ? 'NOT_FOUND' : 'PRESENT');
        stamps.push(EPOCH);
        return;
      }
      const ts = known[name] ?? null;
      if (ts === null) {
        statuses.push('NOT_FOUND');
        stamps.push(EPOCH);
      } else {
        const ttl = view?.ttlSeconds ?? 0;
        statuses.push(ttl > 0 && now.getTime() - ts.getTime() > ttl * 1000 ? 'OUTSIDE_MAX_AGE' : 'PRESENT');
        stamps.push(feastTimestamp(ts));
      }
    });
    return { values, statuses, event_timestamps: stamps };
  });
  return { metadata: { feature_names: [...result.featureNames] }, results };
}
