/**
 * Test-only kill points of the ingest path. When the environment variable
 * `VIGIL_FAULT_KILL_AT` is `<point>:<n>` (e.g. `after-put:3`), the process SIGKILLs itself the
 * n-th time (1-based) it reaches that point, so a fault test can stop the shipped code at an
 * exact step of the batch protocol. Unset (always, outside fault tests) it does nothing.
 *
 * Points, in the order one batch reaches them:
 * - `before-put`: the batch's Parquet is written locally, nothing is staged in the lake yet;
 * - `after-put`: the Parquet is staged in the lake, the offset ledger is not;
 * - `after-ledger`: the ledger is staged too, the lake commit has not happened;
 * - `after-commit`: the lake commit holds the batch, the Source offsets are not committed.
 */
export const FAULT_POINTS = ['before-put', 'after-put', 'after-ledger', 'after-commit'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

const spec = /^([a-z-]+):(\d+)$/.exec(process.env.VIGIL_FAULT_KILL_AT ?? '');
const target = spec && (FAULT_POINTS as readonly string[]).includes(spec[1]!) ? spec[1] : undefined;
let remaining = spec ? Number(spec[2]) : 0;

/** Reaching `point`: SIGKILL this process if `VIGIL_FAULT_KILL_AT` says so. */
export function faultPoint(point: FaultPoint): void {
  if (point !== target || --remaining !== 0) return;
  process.kill(process.pid, 'SIGKILL');
}
