const UNIT_SECONDS: Readonly<Record<string, number>> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  y: 365 * 86_400,
};

/** `2d`, `48h`, `90m`, `30s`, `1w`, `1y` (365 days), or a plain number of seconds. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w|y)$/;

/** Seconds in a duration written as `2d` / `48h` / `90m` / `30s` / `1w` or a number of seconds; undefined when malformed. */
export function durationSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

/** An exact spelling of a number of seconds: days from 2 days up, else hours, minutes, seconds (`172800` → `2d`, `86400` → `24h`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  if (seconds >= 2 * 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  for (const unit of ['h', 'm'] as const) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
