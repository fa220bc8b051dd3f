/**
 * Test-only kill points of the inbound bridge. When `VIGIL_FAULT_KILL_AT` is `<point>:<n>`
 * (e.g. `mq-after-produce:3`), the process SIGKILLs itself the n-th time (1-based) it reaches
 * that point, so a fault test stops the shipped code at an exact step of one batch. Unset
 * (always, outside fault tests) it does nothing.
 *
 * Points, in the order one batch reaches them:
 * - `mq-before-produce`: messages received (unacknowledged), nothing produced to the Source;
 * - `mq-after-produce`: the batch is durably in the Source, the broker has no acknowledgement;
 * - `mq-after-ack`: the acknowledgement is sent.
 */
export const MQ_FAULT_POINTS = ['mq-before-produce', 'mq-after-produce', 'mq-after-ack'] as const;
export type MqFaultPoint = (typeof MQ_FAULT_POINTS)[number];

const spec = /^([a-z-]+):(\d+)$/.exec(process.env.VIGIL_FAULT_KILL_AT ?? '');
const target = spec && (MQ_FAULT_POINTS as readonly string[]).includes(spec[1]!) ? spec[1] : undefined;
let remaining = spec ? Number(spec[2]) : 0;

/** Reaching `point`: SIGKILL this process if `VIGIL_FAULT_KILL_AT` says so. */
export function mqFaultPoint(point: MqFaultPoint): void {
  if (point !== target || --remaining !== 0) return;
  process.kill(process.pid, 'SIGKILL');
}
