import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileLogSource } from '@vigil/adapter-file-log';
import { createTestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

interface Report {
  config: { seed: number; patients: number; days: number; sites: number; start: string; horizonDays: number };
  bayesAuroc: number;
  ceilingAuroc: number;
  stats: { events: number; malformed: number; malformedByKind: Record<string, number>; prevalence: number };
  topics: Record<string, number>;
  output?: { path: string; format: string; events: number; bytes: number; sha256: string };
  produced?: {
    adapter: string;
    produced: number;
    topics: Record<string, { partitions: number; endOffsets: string[] }>;
  };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-simulate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vigil simulate', () => {
  it('prints the config, the Bayes-optimal AUROC and stats; the same seed writes identical bytes', async () => {
    const trial = ['--seed', '5', '--patients', '100', '--days', '30', '--sites', '3'];
    const a = await runCli(['simulate', ...trial, '--out', join(dir, 'a.ndjson'), '--json']);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(['simulate', ...trial, '--out', join(dir, 'b.ndjson')]);
    expect(b.code, b.stderr).toBe(0);
    const bytesA = await readFile(join(dir, 'a.ndjson'));
    const bytesB = await readFile(join(dir, 'b.ndjson'));
    expect(bytesA.length).toBeGreaterThan(0);
    expect(bytesA.equals(bytesB)).toBe(true);

    const report = lastJson(a.stdout);
    expect(report.config).toEqual({
      seed: 5,
      patients: 100,
      days: 30,
      sites: 3,
      start: '2026-01-05T00:00:00.000Z',
      horizonDays: 7,
    });
    expect(report.bayesAuroc).toBeGreaterThan(0.5);
    expect(report.bayesAuroc).toBeLessThanOrEqual(1);
    // The present-state ceiling: future shocks unknown, so below the oracle (100 patients: not strictly).
    expect(report.ceilingAuroc).toBeGreaterThan(0.5);
    expect(report.ceilingAuroc).toBeLessThanOrEqual(report.bayesAuroc + 0.02);
    expect(Object.keys(report).slice(0, 3)).toEqual(['config', 'bayesAuroc', 'ceilingAuroc']);
    expect(report.stats.events).toBeGreaterThanOrEqual(20_000);
    expect(report.stats.malformed).toBe(
      Object.values(report.stats.malformedByKind).reduce((x, y) => x + y, 0),
    );
    expect(report.output).toMatchObject({
      format: 'ndjson',
      events: report.stats.events,
      bytes: bytesA.length,
    });
    // Human report on stdout, progress on stderr (a large run).
    expect(a.stdout).toMatch(/Bayes-optimal AUROC\s+0\.\d{4}/);
    expect(/ceiling AUROC\s+(0\.\d{4}) \(present state\)/.exec(a.stdout)?.[1]).toBe(
      report.ceilingAuroc.toFixed(4),
    );
    expect(b.stdout).toMatch(/prevalence\s+\d+\.\d %/);
    expect(b.stdout).toContain(`sha256 ${report.output!.sha256}`);
    expect(a.stderr).toMatch(/simulate: wrote \d+\/\d+ events/);

    const lines = bytesA.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(report.stats.events);
    const events = lines.map((l) => JSON.parse(l) as { topic: string; key: string; value: string });
    expect(Object.keys(events[0]!)).toEqual(['topic', 'key', 'value']);
    const perTopic: Record<string, number> = {};
    for (const e of events) perTopic[e.topic] = (perTopic[e.topic] ?? 0) + 1;
    expect(perTopic).toEqual(report.topics);
    expect(events.filter((e) => e.key.startsWith('site-')).length).toBe(events.length);
  });

  it("defaults to the job's trial: 1000 patients, 90 days, 4 sites (the job config's defaults)", async () => {
    const result = await runCli(['simulate', '--days', '21', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(lastJson(result.stdout).config).toMatchObject({ seed: 42, patients: 1000, days: 21, sites: 4 });
    const help = await runCli(['simulate', '--help']);
    expect(help.stdout).toMatch(/--patients <n>\s+patients enrolled \(default 1000/);
  });

  it('writes CSV by extension, deterministically', async () => {
    const trial = ['--patients', '20', '--days', '20', '--sites', '2'];
    const one = await runCli(['simulate', '--seed', '1', ...trial, '--out', join(dir, 'one.csv'), '--json']);
    const two = await runCli(['simulate', '--seed', '1', ...trial, '--out', join(dir, 'two.csv')]);
    for (const r of [one, two]) expect(r.code, r.stderr).toBe(0);
    const csv = await readFile(join(dir, 'one.csv'));
    expect(csv.equals(await readFile(join(dir, 'two.csv')))).toBe(true);
    const text = csv.toString('utf8');
    expect(text.startsWith('topic,key,value\r\n')).toBe(true);
    expect(text.split('\r\n').filter((l) => l.length > 0)).toHaveLength(
      lastJson(one.stdout).stats.events + 1,
    );
  });

  it("--to source produces into the config's source (file-log under the workdir)", async () => {
    const workdir = join(dir, 'run');
    const result = await runCli([
      'simulate',
      ...['--seed', '3', '--patients', '20', '--days', '20', '--sites', '2'],
      ...['--to', 'source', '--workdir', workdir, '--json'],
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = lastJson(result.stdout);
    expect(report.produced?.adapter).toBe('file-log');
    expect(report.produced?.produced).toBe(report.stats.events);
    // Read back what landed in the log, through the adapter itself.
    const ctx = await createTestContext({ workdir });
    const source = await fileLogSource.create(fileLogSource.config.parse({}), ctx);
    try {
      let total = 0;
      for (const [topic, count] of Object.entries(report.topics)) {
        const info = await source.describeTopic(topic);
        expect(info.partitions).toBe(2);
        const sum = info.endOffsets.reduce((n, o) => n + Number(o), 0);
        expect(sum, topic).toBe(count);
        total += sum;
      }
      expect(total).toBe(report.stats.events);
    } finally {
      await source.close();
    }
  });

  it('refuses a read-only source, --out with --to, and unknown formats, naming the problem', async () => {
    await writeFile(join(dir, 'vs.csv'), 'SUBJID,SITEID,VSDTC,VSSTRESN\n0001,site-01,2026-01-05T08:00,72\n');
    await writeFile(
      join(dir, 'import.yaml'),
      [
        'version: 1',
        'modules: ["@vigil/adapter-file-import"]',
        'preset: local',
        'ports:',
        '  source:',
        '    adapter: file-import',
        '    config:',
        `      baseDir: ${JSON.stringify(dir)}`,
        '      files:',
        '        - path: vs.csv',
        '          topic: vitals',
        '          mapping: { kind: vital, origin: ehr, patientId: SUBJID, siteId: SITEID, observedAt: VSDTC, value: VSSTRESN, unit: { const: bpm }, measure: { const: heart_rate } }',
        '',
      ].join('\n'),
    );
    const readOnly = await runCli([
      'simulate',
      ...['--patients', '20', '--days', '20', '--config', join(dir, 'import.yaml')],
      ...['--to', 'source', '--workdir', join(dir, 'ro')],
    ]);
    expect(readOnly.code).not.toBe(0);
    expect(readOnly.stderr).toContain('VIGIL_SOURCE_READ_ONLY');
    expect(readOnly.stderr).toContain('file-import');

    const both = await runCli(['simulate', '--out', join(dir, 'x.ndjson'), '--to', 'source']);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--out and --to are exclusive/);
    const parquet = await runCli([
      'simulate',
      '--patients',
      '20',
      '--days',
      '20',
      '--out',
      join(dir, 'x.parquet'),
    ]);
    expect(parquet.code).not.toBe(0);
    expect(parquet.stderr).toMatch(/--out: cannot write .*x\.parquet/);
  });
});
