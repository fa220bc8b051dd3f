import type { JobSummary } from '@vigil/job-adverse-events';

const fmt = (n: number | null, digits = 3) => (n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(digits));

/** The human summary of a run, as an aligned two-column table. */
export function renderSummary(s: JobSummary): string {
  const rows: [string, string][] = [
    ['run id', s.runId],
    [
      'events in',
      `${s.events}${s.produced === s.events ? '' : ` (${s.produced} sent this run; the trial was already in the source)`}`,
    ],
    ['bronze rows', String(s.layers.bronze)],
    ['silver rows', String(s.layers.silver)],
    ['duplicates removed', String(s.layers.duplicates)],
    [
      'quarantined',
      `${s.layers.quarantined}${
        Object.keys(s.quarantineReasons).length
          ? ` (${Object.entries(s.quarantineReasons)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')})`
          : ''
      }`,
    ],
    [
      'reconciliation',
      `${s.reconciliation.balanced ? 'balanced' : 'NOT BALANCED'}: in ${s.reconciliation.in} = bronze ${s.reconciliation.bronze} = silver + duplicates + quarantined; sites ${Object.entries(
        s.reconciliation.bySite,
      )
        .map(([site, c]) => `${site} ${c.balanced ? '✓' : '✗'}`)
        .join(', ')}`,
    ],
    ['gold patient-days', String(s.layers.goldPatientDays)],
    [
      'model',
      `${s.model.name} v${s.model.version}${s.model.alias ? ` (${s.model.alias})` : ' (gate not passed)'}, sha256 ${s.model.sha256.slice(0, 12)}`,
    ],
    [
      'held-out AUROC',
      `${fmt(s.model.auroc)} on ${s.model.testPatients} unseen patients (Bayes-optimal ${fmt(s.model.bayesAuroc)})`,
    ],
    [
      'predict latency p50 / p99',
      `${fmt(s.latencyMs.p50, 2)} ms / ${fmt(s.latencyMs.p99, 2)} ms (OIP over HTTP)`,
    ],
    [
      'monitor',
      `${s.monitor.predictions} predictions, ${s.monitor.labelled} labelled, AUROC ${fmt(s.monitor.auroc)}`,
    ],
    ['online scoring', `${s.online.scored} of ${s.online.patients} patients`],
    ['lake commit', s.lakeCommit],
    ['training run', s.trainingRunId],
    ['workdir', s.workdir],
    ['duration', `${(s.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = `${'─'.repeat(width + 2)}┼${'─'.repeat(60)}`;
  return [line, ...rows.map(([k, v]) => ` ${k.padEnd(width)} │ ${v}`), line].join('\n');
}
