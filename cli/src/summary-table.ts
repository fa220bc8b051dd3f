const fmt = (n: unknown, digits = 3) =>
  typeof n !== 'number' || Number.isNaN(n) ? 'n/a' : n.toFixed(digits);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' ? (v as Obj) : undefined);

/** The human summary of a run, as an aligned two-column table (rows for what the run reported). */
export function renderSummary(s: Obj): string {
  const rows: [string, string][] = [['run id', String(s.runId)]];
  if (s.job) rows.push(['job', `${s.job}${s.mode ? ` (${s.mode})` : ''}`]);
  const steps = s.steps as { name: string; status: string; ms: number }[] | undefined;
  if (steps) {
    rows.push([
      'steps',
      steps
        .map(
          (st) => `${st.name} ${st.status === 'ran' ? '' : `(${st.status}) `}${(st.ms / 1000).toFixed(1)}s`,
        )
        .join(', '),
    ]);
  }
  if (s.events !== undefined) {
    rows.push(['events in', `${s.events}${s.produced ? ` (${s.produced} sent this run)` : ''}`]);
  }
  const layers = obj(s.layers);
  if (layers) {
    rows.push(['bronze rows', String(layers.bronze)], ['silver rows', String(layers.silver)]);
    rows.push(['duplicates removed', String(layers.duplicates)]);
    const reasons = obj(s.quarantineReasons) ?? {};
    rows.push([
      'quarantined',
      `${layers.quarantined}${
        Object.keys(reasons).length
          ? ` (${Object.entries(reasons)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')})`
          : ''
      }`,
    ]);
  }
  const rec = obj(s.reconciliation);
  if (rec) {
    const problems = (rec.problems as string[] | undefined) ?? [];
    rows.push([
      'reconciliation',
      `${rec.balanced ? 'balanced' : 'NOT BALANCED'}: in ${rec.in} = bronze ${rec.bronze} = silver + duplicates + quarantined${rec.expected ? ', equal to what the simulator injected' : ''}${problems.length ? ` — ${problems.join('; ')}` : ''}`,
    ]);
  }
  if (layers) rows.push(['gold patient-days', String(layers.goldPatientDays)]);
  const label = obj(s.label);
  if (label)
    rows.push(['label', `${label.points} points, ${label.positives} positive, ${label.censored} censored`]);
  const model = obj(s.model);
  if (model) {
    rows.push([
      'model',
      `${model.name} v${model.version}${model.alias ? ` (${model.alias})` : ' (gate not passed)'}, sha256 ${String(model.sha256).slice(0, 12)}`,
    ]);
    rows.push([
      'held-out AUROC',
      `${fmt(model.auroc)} on ${model.testPatients} unseen patients${model.ceiling !== undefined ? ` (present-state ceiling ${fmt(model.ceiling)}` : ''}${model.bayesAuroc !== undefined ? `${model.ceiling !== undefined ? ', ' : ' ('}Bayes-optimal ${fmt(model.bayesAuroc)})` : model.ceiling !== undefined ? ')' : ''}`,
    ]);
  }
  if (model?.cv) {
    const cv = obj(model.cv)!;
    if (Number(cv.folds) > 0)
      rows.push([
        'cross-validation',
        `AUROC ${fmt(cv.aurocMean)} ± ${fmt(cv.aurocSd)} over ${cv.folds} patient-grouped folds`,
      ]);
  }
  if (model?.gate) {
    const g = obj(model.gate)!;
    rows.push([
      'gate',
      `${g.decision}${g.champion ? ` against v${g.champion}` : ''}${typeof g.delta === 'number' ? `, ΔAUROC ${g.delta >= 0 ? '+' : ''}${g.delta.toFixed(4)}` : ''}; ECE ${fmt(model.ece, 4)}; serving v${model.served ?? '-'}`,
    ]);
  }
  const latency = obj(s.latencyMs);
  if (latency)
    rows.push([
      'predict latency p50 / p99',
      `${fmt(latency.p50, 2)} ms / ${fmt(latency.p99, 2)} ms (OIP over HTTP)`,
    ]);
  const monitor = obj(s.monitor);
  if (monitor)
    rows.push([
      'monitor',
      `${monitor.predictions} predictions, ${monitor.labelled} labelled, AUROC ${fmt(monitor.auroc)}`,
    ]);
  const online = obj(s.online);
  if (online) rows.push(['online scoring', `${online.scored} of ${online.patients} patients`]);
  if (s.lakeCommit) rows.push(['lake commit', String(s.lakeCommit)]);
  if (s.trainingRunId) rows.push(['training run', String(s.trainingRunId)]);
  rows.push(['workdir', String(s.workdir)], ['duration', `${(Number(s.durationMs) / 1000).toFixed(1)} s`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = `${'─'.repeat(width + 2)}┼${'─'.repeat(60)}`;
  return [line, ...rows.map(([k, v]) => ` ${k.padEnd(width)} │ ${v}`), line].join('\n');
}
