import type { SilverResult } from '../medallion/silver.js';
import { MALFORMED_KIND_NAMES, MALFORMED_KINDS } from '../simulator/mess.js';
import type { InjectedCounts } from '../simulator/simulate-trial.js';

/** The counts one layer (or one site of it) must show when nothing was lost, doubled or misfiled. */
export interface ExpectedCounts {
  silver: number;
  duplicates: number;
  quarantined: number;
  /** Quarantined rows per reason. */
  reasons: Record<string, number>;
}

export interface SiteReconciliation {
  /** Events in for the site, counted at the Source (when the Source can tell per site). */
  in?: number;
  bronze: number;
  silver: number;
  duplicates: number;
  quarantined: number;
  expected?: Omit<ExpectedCounts, 'reasons'>;
  balanced: boolean;
}

export interface Reconciliation {
  /** Events in, counted at the Source (end offsets or records produced), never from bronze. */
  in: number;
  bronze: number;
  silver: number;
  duplicates: number;
  quarantined: number;
  /** What silver must hold given the ground truth of what was injected (when it is known). */
  expected?: ExpectedCounts;
  /** Every check that failed, in words; empty when balanced. */
  problems: string[];
  /** Every count equals its independent counterpart exactly. */
  balanced: boolean;
  bySite: Record<string, SiteReconciliation>;
}

export interface ReconcileInput {
  /** Events in, counted at the Source: the topics' end offsets or the records produced. Not bronze. */
  in: number;
  /** Events in per site, counted at the Source (e.g. per partition where each site has its own). */
  inBySite?: Record<string, number>;
  /** Silver's counts, as `buildSilver` returns them. */
  silver: Pick<SilverResult, 'bronze' | 'silver' | 'duplicates' | 'quarantined' | 'reasons' | 'bySite'>;
  /** Ground truth of what the feed carried (the simulator's `injected`), when known. */
  injected?: InjectedCounts & { bySite?: Record<string, InjectedCounts> };
}

/** What silver must make of a feed carrying exactly `injected`. */
export function expectedFromInjected(injected: InjectedCounts): ExpectedCounts {
  const malformed = MALFORMED_KIND_NAMES.reduce((sum, kind) => sum + injected.malformed[kind], 0);
  const reasons: Record<string, number> = {};
  const add = (reason: string, n: number) => {
    if (n > 0) reasons[reason] = (reasons[reason] ?? 0) + n;
  };
  add('duplicate_event_id', injected.resent);
  for (const kind of MALFORMED_KIND_NAMES) add(MALFORMED_KINDS[kind].reason, injected.malformed[kind]);
  return {
    silver: injected.events - injected.duplicates - injected.resent - malformed,
    duplicates: injected.duplicates,
    quarantined: injected.resent + malformed,
    reasons: Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

/**
 * Reconcile a run against counts that do not come from the layers themselves: events in from
 * the Source must equal bronze, and — when the ground truth is known — silver, duplicates,
 * quarantine and every quarantine reason must equal what was injected, overall and per site.
 * Every comparison is an exact equality. (`bronze = silver + duplicates + quarantined` is
 * checked too, but silver's own GROUP BY makes that hold by construction; it is not evidence.)
 */
export function reconcile(input: ReconcileInput): Reconciliation {
  const { silver } = input;
  const problems: string[] = [];
  const check = (what: string, got: number, want: number) => {
    if (got !== want) problems.push(`${what}: ${got}, expected ${want}`);
  };
  check('bronze vs events in at the Source', silver.bronze, input.in);
  check(
    'silver + duplicates + quarantined vs bronze',
    silver.silver + silver.duplicates + silver.quarantined,
    silver.bronze,
  );
  let expected: ExpectedCounts | undefined;
  if (input.injected) {
    expected = expectedFromInjected(input.injected);
    check('events in vs events injected', input.in, input.injected.events);
    check('silver', silver.silver, expected.silver);
    check('duplicates', silver.duplicates, expected.duplicates);
    check('quarantined', silver.quarantined, expected.quarantined);
    const reasons = new Set([...Object.keys(expected.reasons), ...Object.keys(silver.reasons)]);
    for (const reason of [...reasons].sort()) {
      check(`quarantine reason ${reason}`, silver.reasons[reason] ?? 0, expected.reasons[reason] ?? 0);
    }
  }

  const bySite: Record<string, SiteReconciliation> = {};
  const sites = new Set([
    ...Object.keys(silver.bySite),
    ...Object.keys(input.inBySite ?? {}),
    ...Object.keys(input.injected?.bySite ?? {}),
  ]);
  for (const site of [...sites].sort()) {
    const got = silver.bySite[site] ?? { bronze: 0, silver: 0, duplicates: 0, quarantined: 0 };
    const before = problems.length;
    const entry: SiteReconciliation = { ...got, balanced: false };
    check(
      `site ${site}: silver + duplicates + quarantined vs bronze`,
      got.silver + got.duplicates + got.quarantined,
      got.bronze,
    );
    const siteIn = input.inBySite?.[site];
    if (siteIn !== undefined) {
      entry.in = siteIn;
      check(`site ${site}: bronze vs events in at the Source`, got.bronze, siteIn);
    }
    const truth = input.injected?.bySite?.[site];
    if (input.injected?.bySite) {
      const want = truth
        ? expectedFromInjected(truth)
        : { silver: 0, duplicates: 0, quarantined: 0, reasons: {} };
      entry.expected = { silver: want.silver, duplicates: want.duplicates, quarantined: want.quarantined };
      check(`site ${site}: bronze vs events injected`, got.bronze, truth?.events ?? 0);
      check(`site ${site}: silver`, got.silver, want.silver);
      check(`site ${site}: duplicates`, got.duplicates, want.duplicates);
      check(`site ${site}: quarantined`, got.quarantined, want.quarantined);
    }
    entry.balanced = problems.length === before;
    bySite[site] = entry;
  }

  return {
    in: input.in,
    bronze: silver.bronze,
    silver: silver.silver,
    duplicates: silver.duplicates,
    quarantined: silver.quarantined,
    ...(expected ? { expected } : {}),
    problems,
    balanced: problems.length === 0,
    bySite,
  };
}
