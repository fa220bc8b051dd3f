import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli } from './cli.js';

/** The two public trials run by `vigil run --config examples/<name>/vigil.yaml` in source mode, no code of their own. */

interface Summary {
  mode: string;
  produced: number;
  events: number;
  label: { points: number; positives: number; censored: number };
  model: { auroc: number; testPatients: number; sha256: string };
  steps: { name: string; status: string }[];
  runId: string;
  reconciliation: { balanced: boolean };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Summary;

/** Rows of a simple CSV (no quoted commas in these extracts), as objects. */
async function csv(path: string): Promise<Record<string, string>[]> {
  const [head, ...lines] = (await readFile(path, 'utf8')).trim().split('\n');
  const names = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i]!, v])));
}

async function modelInputs(workdir: string, runId: string): Promise<string[]> {
  const record = JSON.parse(await readFile(join(workdir, 'runs', runId, 'steps', 'train.json'), 'utf8')) as {
    outputs: { model: { value: { featureNames: string[] } } };
  };
  return record.outputs.model.value.featureNames;
}

/**
 * The cgd labels computed here, independently of the product: points at enrolment + each offset
 * up to the last follow-up (the last interval's tstop); a point at or after the first infection is
 * dropped; positive when the first infection falls within the horizon; censored when the horizon
 * runs past the last follow-up without one.
 */
async function cgdLabels(offsets: number[], horizon: number) {
  const rows = await csv('examples/cgd/data/infections.csv');
  const byPatient = new Map<string, { last: number; onset?: number }>();
  for (const r of rows) {
    const p = byPatient.get(r.id!) ?? { last: 0 };
    p.last = Math.max(p.last, Number(r.tstop));
    if (r.status === '1') p.onset = Math.min(p.onset ?? Number.POSITIVE_INFINITY, Number(r.tstop));
    byPatient.set(r.id!, p);
  }
  let points = 0;
  let positives = 0;
  let censored = 0;
  for (const p of byPatient.values()) {
    for (const t of offsets) {
      if (t > p.last) continue;
      if (p.onset !== undefined && p.onset <= t) continue;
      const positive = p.onset !== undefined && p.onset <= t + horizon;
      if (!positive && t + horizon > p.last) censored++;
      else {
        points++;
        if (positive) positives++;
      }
    }
  }
  return { points, positives, censored };
}

describe('public trials from their extracts (file-import, source mode)', () => {
  it('survival::cgd: labels equal an independent count; YAML-only measures and features are the model inputs', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-cgd-'));
    const run = await runCli(['run', '--config', 'examples/cgd/vigil.yaml', '--workdir', workdir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = lastJson(run.stdout);
    expect(s.mode).toBe('source');
    expect(s.steps.map((x) => x.name)).not.toContain('generate');
    expect(s.produced).toBe(0);
    expect(s.reconciliation.balanced).toBe(true);
    expect(s.label).toEqual(await cgdLabels([0, 60, 120, 180, 240, 300], 90));
    expect(s.label.censored).toBeGreaterThan(0);
    expect(s.model.auroc).toBeGreaterThan(0);
    expect(s.model.testPatients).toBeGreaterThan(20);
    const inputs = await modelInputs(workdir, s.runId);
    expect(inputs).toContain('baseline_covariates__rifn_g');
    expect(inputs).toContain('baseline_body__height');
    expect(inputs).toContain('profile__age');

    // In YAML alone: one more declared measure mapped from the extract, a feature over it and a
    // longer horizon. The model's inputs gain exactly that feature; the labels follow the horizon.
    const config = parse(await readFile('examples/cgd/vigil.yaml', 'utf8')) as Record<string, any>;
    const labs = config.ports.source.config.files.find(
      (f: { path: string; topic: string }) => f.path === 'patients.csv' && f.topic === 'labs',
    );
    labs.unpivot.columns.push({ column: 'age', as: 'age_years' });
    config.job.data.measures.push({
      name: 'age_years',
      kind: 'lab',
      unit: '1',
      range: [0, 120],
      static: true,
    });
    config.features.views
      .find((v: { name: string }) => v.name === 'baseline_covariates')
      .features.push({ name: 'age_years', transform: { kind: 'static', of: 'age_years' } });
    config.job.label.horizon = '180d';
    config.ports.source.config.baseDir = join(process.cwd(), 'examples/cgd/data');
    const changed = join(workdir, 'changed.yaml');
    await writeFile(changed, stringify(config));
    const rerun = await runCli(['run', '--config', changed, '--workdir', join(workdir, 'changed'), '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const s2 = lastJson(rerun.stdout);
    expect(await modelInputs(join(workdir, 'changed'), s2.runId)).toEqual([
      ...inputs.filter((f) => f.startsWith('baseline_')),
      'baseline_covariates__age_years',
      ...inputs.filter((f) => !f.startsWith('baseline_')),
    ]);
    expect(s2.label).toEqual(await cgdLabels([0, 60, 120, 180, 240, 300], 180));
    expect(s2.model.sha256).not.toBe(s.model.sha256);
  }, 300_000);

  it('medicaldata::indo_rct: one point per patient at the procedure, positives are the pancreatitis cases', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-indo-'));
    const run = await runCli([
      'run',
      '--config',
      'examples/indo-rct/vigil.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const s = lastJson(run.stdout);
    const outcomes = await csv('examples/indo-rct/data/outcomes.csv');
    expect(s.label).toEqual({
      points: outcomes.length,
      positives: outcomes.filter((r) => r.outcome === '1_yes').length,
      censored: 0,
    });
    expect(s.reconciliation.balanced).toBe(true);
    expect(s.model.auroc).toBeGreaterThan(0.5);
    expect(await modelInputs(workdir, s.runId)).toContain('procedure__indomethacin');
  }, 300_000);
});
