import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './cli.js';

const keys = {
  VIGIL_TEST_PREDICT_KEY: 'predict-key-0123456789',
  VIGIL_TEST_OPERATE_KEY: 'operate-key-0123456789',
  VIGIL_TEST_PSEUDONYM_KEY: 'pseudonym-key-0123456789abcdef',
};
const PATIENT = 'P-000003';

/** Start `vigil serve` on a workdir; resolves with its URL and a stop function. */
async function serve(workdir: string, config: string) {
  const server = startCli(['serve', '--config', config, '--workdir', workdir, '--port', '0'], { env: keys });
  const url = await server.url();
  return { url, stderr: () => server.output().stderr, stop: server.stop };
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('vigil serve: entity ids, the clinician endpoint, the fallback, keys and /metrics', () => {
  it('answers by patient id from the online store, explains, falls back on the deadline, and refuses requests without a role', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'vigil-serve-entities-'));
    const run = await runCli([
      'run',
      '--config',
      'test/e2e/fixtures/small.yaml',
      '--workdir',
      workdir,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    // The patient's online features, read by another command before the server holds the store.
    const got = await runCli([
      'features',
      'get',
      '--config',
      'test/e2e/fixtures/small.yaml',
      '--workdir',
      workdir,
      '--entity',
      `patient_id=${PATIENT}`,
      '--json',
    ]);
    expect(got.code, got.stderr).toBe(0);
    const online = JSON.parse(got.stdout.trim().split('\n').at(-1)!) as Record<
      string,
      number | string | null
    >;
    const names = Object.keys(online).filter((k) => k !== 'patient_id');
    expect(names).toHaveLength(37);

    const server = await serve(workdir, 'test/e2e/fixtures/serve-secure.yaml');
    try {
      const infer = (body: unknown, headers: Record<string, string> = auth(keys.VIGIL_TEST_PREDICT_KEY)) =>
        fetch(`${server.url}/v2/models/adverse-event/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const probability = async (response: Response) => {
        expect(response.status).toBe(200);
        const answer = (await response.json()) as {
          model_version: string;
          outputs: { name: string; data: number[] }[];
          parameters: Record<string, unknown>;
        };
        return { p: answer.outputs.find((o) => o.name === 'probabilities')!.data[1]!, answer };
      };
      // The same row sent as a matrix (the features read above, in the model's order) and by id.
      const row = names.map((n) => (online[n] === null ? null : Number(online[n])));
      const byMatrix = await probability(
        await infer({ inputs: [{ name: 'input', shape: [1, row.length], datatype: 'FP32', data: row }] }),
      );
      const byId = await probability(
        await infer({ inputs: [{ name: 'patient_id', shape: [1], datatype: 'BYTES', data: [PATIENT] }] }),
      );
      expect(byId.p).toBeCloseTo(byMatrix.p, 6);
      expect(byId.answer.model_version).toBe('1');
      const stamps = (byId.answer.parameters.feature_timestamps as Record<string, string | null>[])[0]!;
      // One time per feature view (the store keeps one per view and patient), keyed by the view.
      expect(Object.keys(stamps).sort()).toEqual([...new Set(names.map((n) => n.split('__')[0]!))].sort());
      expect(Object.values(stamps).every((t) => t === null || !Number.isNaN(Date.parse(t)))).toBe(true);

      // The clinician's view: the same probability, a band, drivers in words, the version.
      const risk = await fetch(`${server.url}/patients/${PATIENT}/risk`, {
        headers: auth(keys.VIGIL_TEST_PREDICT_KEY),
      });
      expect(risk.status).toBe(200);
      const r = (await risk.json()) as {
        probability: number;
        band: string;
        drivers: { feature: string; contribution: number; direction: string; text: string }[];
        explanation: { method: string; base: number; logit: number };
        model: { name: string; version: string };
        fallback: boolean;
      };
      expect(r.probability).toBeCloseTo(byMatrix.p, 6);
      expect(r.band).toBe(r.probability >= 0.25 ? 'high' : r.probability >= 0.1 ? 'medium' : 'low');
      expect(r.model).toEqual({ name: 'adverse-event', version: '1' });
      expect(r.fallback).toBe(false);
      expect(r.explanation.method).toBe('tree-shap');
      expect(r.drivers.length).toBeGreaterThan(0);
      expect(r.drivers.length).toBeLessThanOrEqual(5);
      const sizes = r.drivers.map((d) => Math.abs(d.contribution));
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
      for (const d of r.drivers) {
        expect(names).toContain(d.feature);
        expect(d.text).toMatch(d.contribution > 0 ? /\(raises risk\)$/ : /\(lowers risk\)$/);
      }
      expect(
        (await fetch(`${server.url}/patients/P-999999/risk`, { headers: auth(keys.VIGIL_TEST_PREDICT_KEY) }))
          .status,
      ).toBe(404);

      // No key, a wrong key, a role too low: refused.
      expect((await infer({ inputs: [] }, {})).status).toBe(401);
      expect((await fetch(`${server.url}/patients/${PATIENT}/risk`)).status).toBe(401);
      expect((await infer({ inputs: [] }, auth('not-a-key-0123456789'))).status).toBe(401);
      const reroute = await fetch(`${server.url}/v2/models/adverse-event/rollback`, {
        method: 'POST',
        headers: auth(keys.VIGIL_TEST_PREDICT_KEY),
      });
      expect(reroute.status).toBe(403);

      // /metrics on the same port: the monitor's series, fed by the server (in batches of at most
      // 200 ms); no patient id in them.
      await new Promise((r) => setTimeout(r, 600));
      const metrics = await fetch(`${server.url}/metrics`, { headers: auth(keys.VIGIL_TEST_PREDICT_KEY) });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toMatch(/vigil_predictions_total\{[^}]*model="adverse-event"[^}]*\} \d+/);
      // The preset's drift schedule: the scrape computed this day's drift against the first week
      // of the model's predictions (the run's served days).
      expect(text).toMatch(/^vigil_monitor_drift_share\{model="adverse-event",version="all",site="all"\} [0-9.e-]+$/m);
      expect(text).toMatch(/^vigil_monitor_feature_drifted\{[^}]*feature="patient_daily__alt"[^}]*\} [01]$/m);
      expect(text).not.toContain('P-0000');
    } finally {
      expect(await server.stop()).toBe(0);
    }

    // The same server with a deadline nobody meets: every answer comes from the version's backup tree.
    const strict = join(workdir, 'strict.yaml');
    await writeFile(
      strict,
      (
        await import('node:fs/promises').then((f) =>
          f.readFile('test/e2e/fixtures/serve-secure.yaml', 'utf8'),
        )
      ).replace('    config:\n', '    config:\n      deadlineMs: 0\n'),
    );
    const slow = await serve(workdir, strict);
    try {
      expect(slow.stderr()).toMatch(/fallback 1-fallback/);
      const answer = await fetch(`${slow.url}/v2/models/adverse-event/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(keys.VIGIL_TEST_PREDICT_KEY) },
        body: JSON.stringify({
          inputs: [{ name: 'patient_id', shape: [1], datatype: 'BYTES', data: [PATIENT] }],
        }),
      });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as {
        model_version: string;
        parameters: { fallback: boolean; fallback_reason: string };
        outputs: { name: string; data: number[] }[];
      };
      expect(body.model_version).toBe('1-fallback');
      expect(body.parameters).toMatchObject({ fallback: true, fallback_reason: 'deadline' });
      const p = body.outputs.find((o) => o.name === 'probabilities')!.data[1]!;
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    } finally {
      expect(await slow.stop()).toBe(0);
    }
  }, 600_000);
});
