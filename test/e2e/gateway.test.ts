import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliProcess, runCli, startCli } from './cli.js';

/** The small fixtures' model reads 37 features; every one missing is a valid request. */
const FEATURES = 37;
const inferBody = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, FEATURES], datatype: 'FP32', data: Array(FEATURES).fill(null) }],
});

interface Sample {
  start: number;
  end: number;
  status: number;
  color: string | null;
  version: string | undefined;
  error?: string;
}

/** Continuous load: `workers` clients each sending one inference after another until stopped. */
function load(gateway: string, workers: number) {
  const samples: Sample[] = [];
  let running = true;
  let fallbacks = 0;
  const worker = async () => {
    while (running) {
      const start = performance.now();
      try {
        const response = await fetch(`${gateway}/v2/models/adverse-event/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: inferBody,
        });
        const text = await response.text();
        let version: string | undefined;
        try {
          // Under load on a small machine the server may answer from the version's backup
          // tree past its deadline ('1-fallback'): still that version, and still a 200.
          version = (JSON.parse(text) as { model_version?: string }).model_version?.replace(/-fallback$/, '');
          if (text.includes('-fallback')) fallbacks++;
        } catch {
          version = undefined;
        }
        samples.push({
          start,
          end: performance.now(),
          status: response.status,
          color: response.headers.get('x-vigil-gateway-color'),
          version,
          ...(response.status === 200 ? {} : { error: text.slice(0, 300) }),
        });
      } catch (error) {
        samples.push({
          start,
          end: performance.now(),
          status: 0,
          color: null,
          version: undefined,
          error: String(error),
        });
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    samples,
    fallbacks: () => fallbacks,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('vigil gateway (blue-green)', () => {
  it('switches a whole serving version under load with no failed request, refuses an unchecked or failed color, and rolls back', async () => {
    // Two whole serving versions, each with its own workdir (lake, feature views, online store,
    // registry) and config: blue serves v1 (small.yaml's gbt), green v2 (stumps-model.yaml's
    // boosted stumps, trained after v1 in its own workdir and promoted there).
    const blueDir = await mkdtemp(join(tmpdir(), 'vigil-gw-blue-'));
    const greenDir = await mkdtemp(join(tmpdir(), 'vigil-gw-green-'));
    const train = async (fixture: string, workdir: string) => {
      const r = await runCli([
        'run',
        '--config',
        `test/e2e/fixtures/${fixture}`,
        '--workdir',
        workdir,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
    };
    await Promise.all([train('small.yaml', blueDir), train('small.yaml', greenDir)]);
    await train('stumps-model.yaml', greenDir);

    const serve = (fixture: string, workdir: string) =>
      startCli(['serve', '--config', `test/e2e/fixtures/${fixture}`, '--workdir', workdir, '--port', '0']);
    const blue = serve('small.yaml', blueDir);
    const green = serve('stumps-model.yaml', greenDir);
    const processes: CliProcess[] = [blue, green];
    const OPS = 'ops-key-for-e2e-0001';
    const VIEWER = 'viewer-key-for-e2e-01';
    try {
      const [blueUrl, greenUrl] = await Promise.all([
        blue.url(/serving .* at (http:\/\/\S+)/),
        green.url(/serving .* at (http:\/\/\S+)/),
      ]);
      const gw = startCli(
        [
          'gateway',
          '--port',
          '0',
          '--blue',
          blueUrl,
          '--model',
          'adverse-event',
          '--samples',
          '3',
          '--state',
          join(blueDir, 'gateway-state.json'),
        ],
        { env: { VIGIL_GATEWAY_KEYS: `ops:operate:${OPS},viewer:predict:${VIEWER}` } },
      );
      processes.push(gw);
      const gateway = await gw.url(/gateway at (http:\/\/\S+):/);
      const cli = (args: string[], key = OPS) =>
        runCli(['gateway', ...args, '--url', gateway], { env: { VIGIL_GATEWAY_KEY: key } });
      const control = (path: string, body: unknown, key?: string) =>
        fetch(`${gateway}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify(body),
        });

      const traffic = load(gateway, 4);
      await wait(500);

      // Control endpoints need a key with role operate.
      expect((await control('/gateway/switch', { color: 'green' })).status).toBe(401);
      expect((await fetch(`${gateway}/gateway/status`)).status).toBe(401);
      const viewer = await control('/gateway/switch', { color: 'green' }, VIEWER);
      expect(viewer.status).toBe(403);
      expect(((await viewer.json()) as { error: string }).error).toMatch(
        /role predict; POST \/gateway\/switch needs operate/,
      );

      // Stage green; a switch before any check is refused.
      const staged = await cli(['stage', 'green', greenUrl]);
      expect(staged.code, staged.stderr).toBe(0);
      const unchecked = await cli(['switch', 'green']);
      expect(unchecked.code).toBe(1);
      expect(unchecked.stderr).toMatch(/VIGIL_GATEWAY_NOT_CHECKED: color green .* has not been checked/);

      // A check with a malformed smoke request fails, and the switch names that reason.
      const bad = join(greenDir, 'bad-request.json');
      await writeFile(
        bad,
        JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }),
      );
      const failed = await cli(['check', 'green', '--request', bad]);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(
        /check of green: failed: infer: POST \/v2\/models\/adverse-event\/infer answered 400/,
      );
      const refused = await cli(['switch', 'green']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /VIGIL_GATEWAY_CHECK_FAILED: the last check of green .* failed: infer: /,
      );

      // A good check: health, readiness, metadata, smoke inference, output shape like blue's.
      const checked = await cli(['check', 'green', '--json']);
      expect(checked.code, checked.stderr + checked.stdout).toBe(0);
      const report = JSON.parse(checked.stdout) as {
        ok: boolean;
        modelVersion: string;
        latencyMs: { p50: number; max: number };
        steps: { name: string; detail?: string }[];
      };
      expect(report).toMatchObject({ ok: true, modelVersion: '2' });
      expect(report.steps.at(-1)!.detail).toBe('matches the live blue');

      await wait(1_000);
      const beforeSwitch = traffic.samples.filter((s) => s.color !== 'blue' || s.version !== '1');
      expect(beforeSwitch, JSON.stringify(beforeSwitch.slice(0, 3))).toEqual([]);

      // Switch under load.
      const switchStart = performance.now();
      const switched = await control('/gateway/switch', { color: 'green' }, OPS);
      const switchEnd = performance.now();
      expect(switched.status).toBe(200);
      expect(await switched.json()).toMatchObject({
        active: 'green',
        previous: 'blue',
        changed: true,
        by: 'ops',
      });
      await wait(1_500);

      // Roll back under load.
      const rollbackStart = performance.now();
      const back = await control('/gateway/rollback', {}, OPS);
      const rollbackEnd = performance.now();
      expect(back.status).toBe(200);
      expect(await back.json()).toMatchObject({ active: 'blue', previous: 'green', changed: true });
      await wait(1_500);
      await traffic.stop();

      const samples = traffic.samples;
      const failures = samples.filter((s) => s.status !== 200);
      expect(failures, JSON.stringify(failures.slice(0, 3))).toEqual([]);
      // Every answer names its color, and each color its own model version.
      for (const s of samples) expect(s.version).toBe(s.color === 'green' ? '2' : '1');
      // Atomic: requests sent after the switch returned went to green, until the rollback began;
      // requests sent after the rollback returned went to blue. Requests sent before the switch began went to blue.
      const during = (from: number, to: number) => samples.filter((s) => s.start > from && s.start < to);
      expect(during(0, switchStart).every((s) => s.color === 'blue')).toBe(true);
      const onGreen = during(switchEnd, rollbackStart);
      expect(onGreen.length).toBeGreaterThan(10);
      expect(onGreen.every((s) => s.color === 'green')).toBe(true);
      const afterBack = during(rollbackEnd, Number.POSITIVE_INFINITY);
      expect(afterBack.length).toBeGreaterThan(10);
      expect(afterBack.every((s) => s.color === 'blue')).toBe(true);

      // How long a switch and a rollback take: the control call, and until the first answer
      // from the new color reached a client.
      const firstAnswer = (color: string, after: number) =>
        Math.min(...samples.filter((s) => s.color === color && s.start >= after).map((s) => s.end));
      const measured = {
        requests: samples.length,
        failed: failures.length,
        fallbackAnswers: traffic.fallbacks(),
        switchCallMs: switchEnd - switchStart,
        switchToFirstGreenAnswerMs: firstAnswer('green', switchStart) - switchStart,
        rollbackCallMs: rollbackEnd - rollbackStart,
        rollbackToFirstBlueAnswerMs: firstAnswer('blue', rollbackStart) - rollbackStart,
        checkP50Ms: report.latencyMs.p50,
        loadP50Ms: [...samples.map((s) => s.end - s.start)].sort((a, b) => a - b)[
          Math.floor(samples.length / 2)
        ],
      };
      console.log(`gateway e2e measurements ${JSON.stringify(measured)}`);
      expect(measured.switchCallMs).toBeLessThan(5_000);
      expect(measured.rollbackCallMs).toBeLessThan(5_000);

      const status = await cli(['status', '--json'], VIEWER);
      expect(status.code, status.stderr).toBe(0);
      const state = JSON.parse(status.stdout) as {
        active: string;
        previous: string;
        upstreams: Record<
          string,
          { url: string; health: { ready: { ok: boolean } }; model: { versions: string[] } }
        >;
        events: { action: string; color: string; ok?: boolean }[];
      };
      expect(state).toMatchObject({ active: 'blue', previous: 'green' });
      expect(state.upstreams.green!.url).toBe(greenUrl);
      expect(state.upstreams.green!.model.versions).toEqual(['2']);
      expect(state.upstreams.blue!.model.versions).toEqual(['1']);
      expect(state.upstreams.blue!.health.ready.ok).toBe(true);
      expect(JSON.parse(await readFile(join(blueDir, 'gateway-state.json'), 'utf8'))).toMatchObject({
        active: 'blue',
        previous: 'green',
        upstreams: { blue: blueUrl, green: greenUrl },
      });
      expect(state.events.map((e) => `${e.action}:${e.color}:${e.ok ?? ''}`)).toEqual([
        'stage:green:',
        'switch:green:false',
        'check:green:false',
        'switch:green:false',
        'check:green:true',
        'switch:green:true',
        'rollback:blue:true',
      ]);
    } finally {
      for (const p of processes.reverse()) p.child.kill('SIGTERM');
    }
    for (const p of processes) expect(await p.exited).toBe(0);
  }, 300_000);
});
