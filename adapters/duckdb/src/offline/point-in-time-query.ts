import type { FeatureDtype } from '@vigil/core';
import { outputExpression } from '../sql/dtype.js';
import { quoteIdent } from '../sql/quote.js';
import { MAX_BIGINT, orderKey } from './source-relation.js';

/** One view's part of a point-in-time join. */
export interface ViewJoin {
  /** Relation from `sourceRelation` (columns `__k*`, `__ts`, `__f*`, and `__ord` when `ordered`). */
  relation: string;
  /** Join on `__ord` (event time, then created time) instead of `__ts` alone. */
  ordered: boolean;
  /** Entity-table columns (`__e*`) matching the view's join keys, in `view.entities` order. */
  entityColumns: string[];
  ttlSeconds: number;
  /** Requested features: index into the view's features, and dtype. */
  features: { index: number; dtype: FeatureDtype }[];
}

/**
 * The point-in-time join of INTEROP §2 as one DuckDB query over the entity temp table.
 *
 * Each view is an `ASOF LEFT JOIN` on its join keys with `source.__ts <= entity.__ts`, which
 * picks the latest feature row at or before the entity time. For a view with a created
 * timestamp the inequality is on `{t, c}` structs instead: the entity side is
 * `{entity_ts, +∞}`, so `source <= entity` still means `ts <= entity_ts` while the largest
 * match is the latest created row among equal event times. The TTL lower bound is applied afterwards:
 * when the picked row is older than `entity_ts - ttl` there is no candidate at all (any
 * other candidate would be older still), so the features are NULL. Rows come back in input
 * order; the output columns are `o0, o1, …` in the order of `views[*].features`.
 */
export function pointInTimeQuery(entityTable: string, views: readonly ViewJoin[]): string {
  const ctes = [
    `e0 AS (SELECT __idx, CAST(__ts_ms AS BIGINT) * 1000 AS __ts, * EXCLUDE (__idx, __ts_ms) FROM ${quoteIdent(entityTable)})`,
    views.some((v) => v.ordered)
      ? `e AS (SELECT *, ${orderKey('__ts', MAX_BIGINT)} AS __ord FROM e0)`
      : 'e AS (SELECT * FROM e0)',
    ...views.map((v, i) => `s${i} AS (${v.relation})`),
  ];
  const outputs: string[] = [];
  const joins: string[] = [];
  let o = 0;
  views.forEach((v, i) => {
    const s = `s${i}`;
    const on = v.entityColumns.map((e, k) => `e.${e} = ${s}.__k${k}`);
    const inequality = v.ordered ? `e.__ord >= ${s}.__ord` : `e.__ts >= ${s}.__ts`;
    joins.push(`ASOF LEFT JOIN ${s} ON ${[...on, inequality].join(' AND ')}`);
    const ttlMicros = Math.round(v.ttlSeconds * 1_000_000);
    for (const f of v.features) {
      const value = outputExpression(`${s}.__f${f.index}`, f.dtype);
      const expr = ttlMicros > 0 ? `CASE WHEN ${s}.__ts >= e.__ts - ${ttlMicros} THEN ${value} END` : value;
      outputs.push(`${expr} AS o${o++}`);
    }
  });
  return `WITH ${ctes.join(',\n')}\nSELECT ${outputs.join(', ')}\nFROM e\n${joins.join('\n')}\nORDER BY e.__idx`;
}
