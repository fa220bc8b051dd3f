import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { runCli, startCli } from './cli.js';

/**
 * `vigil serve` with the rollout plugin (fixtures/canary.yaml: steps 20 → 50 → 100 %, 100
 * challenger requests a step, score PSI ≤ 2, error rate ≤ 1 %). Versions: v1 the champion,
 * v2 a model trained on the wrong label (scores far above v1's), v3 the champion's config
 * retrained (a sound candidate). The job's gate refuses v2 and v3 (its margin is 0.5), so only a canary can make
 * them champion. Load: 6 concurrent clients, one patient per request, sticky by
 * `x-vigil-route-key`; every failed request is counted.
 */

const MODEL = 'adverse-event';
const PATIENTS = Array.from({ length: 120 }, (_, i) => `P-${String(i + 1).padStart(6, '0')}`);

interface Served {
  process: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function until(what: () => Promise<boolean> | boolean, ms: number, label: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error(`${label}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function serve(workdir: string): Promise<Served> {
  const child = startCli([
    'serve',
    '--config',
    'test/e2e/fixtures/canary.yaml',
    '--workdir',
    workdir,
    '--port',
    '0',
    '--poll-ms',
    '250',
  ]);
  const url = await child.url(/at (http:\/\/\S+)/, 60_000);
  return { process: child.child, url, stderr: () => child.output().stderr, exited: child.exited };
}

interface Load {
  ok: number;
  failed: number;
  failures: string[];
  /** Which version answered each patient (the last answer). */
  byPatient: Map<string, string>;
  versions: Map<string, number>;
}

const newLoad = (): Load => ({ ok: 0, failed: 0, failures: [], byPatient: new Map(), versions: new Map() });

/** One patient's risk over OIP by entity id, routed by the patient's key. */
async function infer(url: string, patient: string, load: Load): Promise<void> {
  try {
    const response = await fetch(`${url}/v2/models/${MODEL}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-vigil-route-key': patient },
      body: JSON.stringify({
        inputs: [{ name: 'patient_id', shape: [1], datatype: 'BYTES', data: [patient] }],
      }),
    });
    const body = (await response.json()) as { model_version?: string; error?: string };
    if (response.status !== 200 || body.model_version === undefined) {
      load.failed += 1;
      if (load.failures.length < 5) load.failures.push(`${patient}: ${response.status} ${body.error}`);
      return;
    }
    load.ok += 1;
    load.byPatient.set(patient, body.model_version);
    load.versions.set(body.model_version, (load.versions.get(body.model_version) ?? 0) + 1);
  } catch (error) {
    load.failed += 1;
    if (load.failures.length < 5) load.failures.push(`${patient}: ${(error as Error).message}`);
  }
}

/** 6 concurrent clients over the patients, round after round, until `done` (checked between rounds of `round` requests). */
async function loadUntil(
  url: string,
  load: Load,
  done: () => Promise<boolean>,
  ms: number,
  label: string,
  round = 120,
): Promise<void> {
  const deadline = Date.now() + ms;
  let next = 0;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${label}: not within ${ms} ms`);
    let sent = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (sent < round) {
          sent += 1;
          const patient = PATIENTS[next++ % PATIENTS.length]!;
          await infer(url, patient, load);
        }
      }),
    );
    // let serve's poll (250 ms) evaluate what this round sent
    await new Promise((r) => setTimeout(r, 300));
  }
}

interface StateFile {
  champion: string;
  challenger: string;
  status: 'running' | 'completed' | 'rolled-back';
  stepIndex: number;
  history: { action: string; step: number; weight: number; reason?: string }[];
}

describe('vigil serve: canaries through the rollout plugin', () => {
  it('rolls a broken version back with 0 failed requests, walks a good one to champion, and resumes after a restart', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-canary-'));
    const cli = async (args: string[]) => {
      const r = await runCli([...args, '--workdir', workdir]);
      expect(r.code, `vigil ${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const state = async (): Promise<StateFile | undefined> =>
      readFile(join(workdir, 'rollout', `${MODEL}.json`), 'utf8').then(
        (t) => JSON.parse(t) as StateFile,
        () => undefined,
      );
    const tagsOf = async (version: string) =>
      JSON.parse(
        await cli(['models', 'show', version, '--json', '--config', 'test/e2e/fixtures/canary.yaml']),
      ) as {
        tags: Record<string, string>;
        aliases: string[];
      };
    await cli(['run', '--config', 'test/e2e/fixtures/canary.yaml', '--json']); // v1: champion
    await cli(['run', '--config', 'test/e2e/fixtures/canary-wrong-label.yaml', '--json']); // v2: refused
    // v3: the same config retrained (a sound candidate); the gate refuses it (no better by 0.5)
    await cli(['run', '--config', 'test/e2e/fixtures/canary.yaml', '--no-cache', '--json']);
    expect((await tagsOf('2')).tags['vigil.gate.decision']).toBe('refused');
    expect((await tagsOf('3')).tags['vigil.gate.decision']).toBe('refused');

    let server = await serve(workdir);
    try {
      const warm = newLoad();
      for (const patient of PATIENTS) await infer(server.url, patient, warm);
      expect(warm.failures).toEqual([]);
      expect([...warm.versions.keys()]).toEqual(['1']);

      // (a) the broken version: rolled back on the score PSI at step 1, no client sees a failure
      await cli([
        'models',
        'canary',
        '2',
        '--reason',
        'e2e: wrong label',
        '--config',
        'test/e2e/fixtures/canary.yaml',
      ]);
      await until(
        () => /canary of adverse-event started/.test(server.stderr()),
        15_000,
        'canary of v2 started',
      );
      const broken = newLoad();
      await loadUntil(
        server.url,
        broken,
        async () => (await state())?.status === 'rolled-back',
        60_000,
        `v2 rolled back\n${server.stderr()}`,
      );
      expect(broken.failed, broken.failures.join('\n')).toBe(0);
      expect(broken.versions.get('2')).toBeGreaterThan(0); // it did serve a share before the rollback
      const rolledBack = (await state())!;
      expect(rolledBack.history.map((d) => [d.action, d.weight])).toEqual([
        ['start', 20],
        ['rollback', 0],
      ]);
      expect(rolledBack.history[1]!.reason).toMatch(/^scorePsi [\d.]+ > 2 at step 1 \(20 %\)/);
      await until(
        () => /canary of adverse-event rolled back: v2 unloaded/.test(server.stderr()),
        10_000,
        'v2 unloaded',
      );
      const v2 = await tagsOf('2');
      expect(v2.tags['vigil.canary.decision']).toBe('rolled-back');
      expect(v2.tags['vigil.canary.reason']).toBe(rolledBack.history[1]!.reason);
      expect(v2.tags['vigil.canary.failed']).toMatch(/^scorePsi [\d.]+ > 2$/);
      expect(v2.aliases).toEqual([]); // the challenger alias is gone
      const after = newLoad();
      for (const patient of PATIENTS.slice(0, 60)) await infer(server.url, patient, after);
      expect([...after.versions.keys()]).toEqual(['1']);
      expect(after.failed).toBe(0);

      const status = JSON.parse(
        await cli(['rollout', 'status', '--json', '--config', 'test/e2e/fixtures/canary.yaml']),
      ) as { status: string; weight: number; last: { action: string; failed?: { check: string } } };
      expect(status).toMatchObject({ status: 'rolled-back', weight: 0, last: { action: 'rollback' } });
      expect(status.last.failed?.check).toBe('scorePsi');
      const text = await cli(['rollout', 'status', '--config', 'test/e2e/fixtures/canary.yaml']);
      expect(text).toMatch(/canary v1 → v2, rolled-back/);
      expect(text).toMatch(/scorePsi [\d.]+ \(limit 2\) FAILED/);
      const exported = parseYaml(
        await cli(['rollout', 'export', '--namespace', 'ae', '--config', 'test/e2e/fixtures/canary.yaml']),
      );
      expect(exported).toEqual({
        apiVersion: 'mlops.seldon.io/v1alpha1',
        kind: 'Experiment',
        metadata: { name: 'adverse-event-rollout', namespace: 'ae' },
        spec: { default: 'adverse-event-1', candidates: [{ name: 'adverse-event-1', weight: 100 }] },
      });

      // (b) the good version: walks 20 → 50 %, serve restarts at step 2, and it completes
      await cli([
        'models',
        'canary',
        '3',
        '--reason',
        'e2e: retrained on more data',
        '--config',
        'test/e2e/fixtures/canary.yaml',
      ]);
      await until(
        async () => (await state())?.challenger === '3',
        15_000,
        `canary of v3 started\n${server.stderr()}`,
      );
      const good = newLoad();
      await loadUntil(
        server.url,
        good,
        async () => (await state())!.stepIndex >= 1 || (await state())!.status !== 'running',
        60_000,
        'v3 at step 2',
      );
      const atStep2 = (await state())!;
      expect(atStep2).toMatchObject({ status: 'running', stepIndex: 1 });
      const plan = parseAllDocuments(
        await cli(['rollout', 'export', '--plan', '--config', 'test/e2e/fixtures/canary.yaml']),
      ).map((d) => d.toJSON() as { spec: { candidates: { name: string; weight: number }[] } });
      expect(plan.map((e) => e.spec.candidates)).toEqual([
        [
          { name: 'adverse-event-3', weight: 20 },
          { name: 'adverse-event-1', weight: 80 },
        ],
        [
          { name: 'adverse-event-3', weight: 50 },
          { name: 'adverse-event-1', weight: 50 },
        ],
        [
          { name: 'adverse-event-3', weight: 100 },
          { name: 'adverse-event-1', weight: 0 },
        ],
      ]);

      server.process.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      server = await serve(workdir);
      expect(server.stderr()).toMatch(/resumed canary of adverse-event: v3 at 50 % beside v1, step 2 of 3/);
      const resumed = JSON.parse(
        await cli(['rollout', 'status', '--json', '--config', 'test/e2e/fixtures/canary.yaml']),
      ) as { status: string; step: number; weight: number };
      expect(resumed).toMatchObject({ status: 'running', step: 2, weight: 50 });

      await loadUntil(
        server.url,
        good,
        async () => (await state())!.status !== 'running',
        60_000,
        'v3 completed',
      );
      expect(good.failed, good.failures.join('\n')).toBe(0);
      const completed = (await state())!;
      expect(completed.status, JSON.stringify(completed.history)).toBe('completed');
      expect(completed.history.map((d) => [d.action, d.weight])).toEqual([
        ['start', 20],
        ['advance', 50],
        ['complete', 100],
      ]);
      await until(
        () => /now serving adverse-event@champion = v3 \(was v1\)/.test(server.stderr()),
        10_000,
        'v3 champion',
      );
      const v3 = await tagsOf('3');
      expect(v3.aliases).toEqual(['champion']);
      expect(v3.tags['vigil.canary.decision']).toBe('completed');
      expect(v3.tags['vigil.canary.champion']).toBe('1');
      const final = newLoad();
      for (const patient of PATIENTS.slice(0, 60)) await infer(server.url, patient, final);
      expect([...final.versions.keys()]).toEqual(['3']);
      expect(final.failed).toBe(0);
      const done = JSON.parse(
        await cli(['rollout', 'status', '--json', '--config', 'test/e2e/fixtures/canary.yaml']),
      ) as { status: string; weight: number; history: { action: string }[] };
      expect(done).toMatchObject({ status: 'completed', weight: 100 });
    } finally {
      server.process.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  }, 300_000);
});
