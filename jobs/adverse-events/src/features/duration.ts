const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `2d`, `48h`, `90m`, `30s`, `1w`, or a plain number of seconds. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/;

/** Seconds in a duration written as `2d` / `48h` / `90m` / `30s` / `1w` or a number of seconds; undefined when malformed. */
export function durationSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

/** The shortest exact spelling of a number of seconds (`172800` → `2d`, `0` → `0s`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
