import type { LabelledEntity } from '../pipeline/training-set.js';

const DAY_MS = 86_400_000;

/** What labelling needs to know of one patient, read from silver at a lake commit. */
export interface PatientTimeline {
  patientId: string;
  siteId: string;
  enrolledAt: Date;
  /** The patient's last observation of any kind: the end of follow-up. */
  lastSeen: Date;
  /** Times of events matching the outcome predicate, ascending. */
  outcomes: Date[];
  /** Times of events matching the observation filter (observations grid), ascending. */
  observations: Date[];
}

export type PointGrid =
  | { grid: 'daily'; warmupMs: number }
  | { grid: 'observations'; warmupMs: number }
  | { grid: 'offsets'; offsetsMs: number[] };

export interface LabelCounts {
  /** Prediction points kept (labelled). */
  points: number;
  positives: number;
  /** Points excluded because their horizon runs past the last follow-up without the outcome. */
  censored: number;
  /** Points dropped because the patient already had the outcome. */
  afterOutcome: number;
  patients: number;
}

function candidateTimes(p: PatientTimeline, grid: PointGrid): number[] {
  const enrolled = p.enrolledAt.getTime();
  const last = p.lastSeen.getTime();
  switch (grid.grid) {
    case 'daily': {
      const first = enrolled + grid.warmupMs;
      const out: number[] = [];
      // Midnights (UTC) from the first one at or after `first` to the last follow-up.
      for (let t = Math.ceil(first / DAY_MS) * DAY_MS; t <= last; t += DAY_MS) out.push(t);
      return out;
    }
    case 'observations':
      return [
        ...new Set(p.observations.map((d) => d.getTime()).filter((t) => t >= enrolled + grid.warmupMs)),
      ];
    case 'offsets':
      return grid.offsetsMs.map((o) => enrolled + o).filter((t) => t <= last);
  }
}

/**
 * Prediction points and labels: label 1 when the patient's first outcome falls in
 * (t, t + horizon]; points at or after the first outcome are dropped; a point whose horizon
 * runs past the last follow-up with no outcome in it is censored — excluded, not labelled 0.
 */
export function labelPoints(
  patients: readonly PatientTimeline[],
  grid: PointGrid,
  horizonMs: number,
): { entities: LabelledEntity[]; counts: LabelCounts } {
  const entities: LabelledEntity[] = [];
  const counts: LabelCounts = { points: 0, positives: 0, censored: 0, afterOutcome: 0, patients: 0 };
  const sorted = [...patients].sort((a, b) =>
    a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0,
  );
  for (const p of sorted) {
    const onset = p.outcomes.length > 0 ? Math.min(...p.outcomes.map((d) => d.getTime())) : undefined;
    const last = p.lastSeen.getTime();
    let kept = 0;
    for (const t of candidateTimes(p, grid).sort((a, b) => a - b)) {
      if (onset !== undefined && onset <= t) {
        counts.afterOutcome++;
        continue;
      }
      const positive = onset !== undefined && onset <= t + horizonMs;
      if (!positive && t + horizonMs > last) {
        counts.censored++;
        continue;
      }
      entities.push({ patientId: p.patientId, at: new Date(t), label: positive ? 1 : 0 });
      counts.points++;
      if (positive) counts.positives++;
      kept++;
    }
    if (kept > 0) counts.patients++;
  }
  return { entities, counts };
}
