import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Gateway } from './gateway.js';
import type { GatewayOptionsInput } from './options.js';

/** A small Open Inference Protocol server: one model, its version named in every answer. */
interface Upstream {
  url: string;
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close: () => Promise<void>;
}

async function oipServer(
  version: string,
  options: { ready?: boolean; delayMs?: number; outputName?: string } = {},
): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: request.method!, url: request.url!, headers: request.headers, body });
      const json = (status: number, value: unknown, extra: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...extra });
        response.end(JSON.stringify(value));
      };
      const path = request.url!.split('?')[0];
      const output = options.outputName ?? 'probability';
      if (path === '/v2/health/live') return json(200, { live: true });
      if (path === '/v2/health/ready')
        return options.ready === false ? json(503, { error: 'loading' }) : json(200, { ready: true });
      if (path === '/v2/models/m/ready') return json(200, { name: 'm', ready: true });
      if (path === '/v2/models/m')
        return json(200, {
          name: 'm',
          versions: [version],
          platform: 'test',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }],
          outputs: [{ name: output, datatype: 'FP32', shape: [-1, 1] }],
        });
      if (path === '/v2/models/m/infer') {
        const answer = () =>
          json(
            200,
            {
              model_name: 'm',
              model_version: version,
              outputs: [{ name: output, datatype: 'FP32', shape: [1, 1], data: [0.5] }],
            },
            { 'x-seldon-route': version },
          );
        if (options.delayMs) setTimeout(answer, options.delayMs);
        else answer();
        return;
      }
      if (path === '/echo') {
        return json(
          201,
          { method: request.method, url: request.url, body, header: request.headers['x-custom'] },
          { 'x-upstream': version },
        );
      }
      json(404, { error: `no endpoint ${path}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const OPERATE = 'operate-key-123';
const READ = 'predict-key-123';
const keys = [
  { name: 'ops', key: OPERATE, role: 'operate' as const },
  { name: 'dash', key: READ, role: 'predict' as const },
];

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function start(options: GatewayOptionsInput) {
  const gateway = new Gateway({ port: 0, model: 'm', keys, ...options });
  const { url } = await gateway.listen();
  cleanup.push(() => gateway.close());
  const control = async (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    key: string | null = OPERATE,
  ) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const infer = async () => {
    const response = await fetch(`${url}/v2/models/m/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] }),
    });
    return {
      status: response.status,
      color: response.headers.get('x-vigil-gateway-color'),
      version: ((await response.json()) as { model_version?: string }).model_version,
    };
  };
  return { gateway, url, control, infer };
}

async function servers(...specs: Parameters<typeof oipServer>[]) {
  const made = await Promise.all(specs.map((s) => oipServer(...s)));
  for (const m of made) cleanup.push(m.close);
  return made;
}

describe('Gateway', () => {
  it('forwards method, path, query, headers and body, and names the color that answered', async () => {
    const [blue] = await servers(['1']);
    const { url } = await start({ blue: blue!.url });
    const response = await fetch(`${url}/echo?x=1&y=two`, {
      method: 'PUT',
      headers: { 'x-custom': 'kept', 'content-type': 'text/plain', authorization: 'Bearer upstream-key' },
      body: 'hello body',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-upstream')).toBe('1');
    expect(response.headers.get('x-vigil-gateway-color')).toBe('blue');
    expect(await response.json()).toEqual({
      method: 'PUT',
      url: '/echo?x=1&y=two',
      body: 'hello body',
      header: 'kept',
    });
    const seen = blue!.seen.at(-1)!;
    expect(seen.headers.authorization).toBe('Bearer upstream-key');
    expect(seen.headers['content-type']).toBe('text/plain');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('answers 502 with a JSON error when the active upstream is unreachable, and keeps serving', async () => {
    const [dead] = await servers(['1']);
    await dead!.close();
    const { url, control } = await start({ blue: dead!.url });
    const response = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: string; code: string };
    expect(body.code).toBe('VIGIL_GATEWAY_UPSTREAM_UNREACHABLE');
    expect(body.error).toMatch(/upstream blue .* unreachable: ECONNREFUSED/);
    expect((await control('GET', '/gateway/status')).status).toBe(200);
  });

  it('answers 503 when no color is active', async () => {
    const { url } = await start({});
    const response = await fetch(`${url}/anything`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { code: string }).code).toBe('VIGIL_GATEWAY_NO_UPSTREAM');
  });

  it('needs an operate key for state changes and any key for status', async () => {
    const [blue, green] = await servers(['1'], ['2']);
    const { control } = await start({ blue: blue!.url, green: green!.url });
    const anonymous = await control('POST', '/gateway/switch', { color: 'green' }, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error).toMatch(/missing API key/);
    expect((await control('POST', '/gateway/switch', { color: 'green' }, 'wrong-key-000')).json.error).toBe(
      'unknown API key',
    );
    const reader = await control('POST', '/gateway/rollback', {}, READ);
    expect(reader.status).toBe(403);
    expect(reader.json.error).toMatch(/role predict; POST \/gateway\/rollback needs operate/);
    expect((await control('GET', '/gateway/status', undefined, READ)).status).toBe(200);
    expect((await control('GET', '/gateway/status', undefined, null)).status).toBe(401);

    const { gateway } = await start({ blue: blue!.url });
    expect(JSON.stringify(gateway.options)).not.toContain(OPERATE);
    expect(gateway.options.keys.map((k) => k.name)).toEqual(['ops', 'dash']);
    const open = await start({ blue: blue!.url, keys: [] });
    const refused = await open.control('GET', '/gateway/status', undefined, null);
    expect(refused.status).toBe(401);
    expect(refused.json.error).toMatch(/no API keys configured \(keys\)/);
  });

  it('names the field of a malformed control request', async () => {
    const { control } = await start({});
    const bad = await control('POST', '/gateway/stage', { color: 'red', url: 'ftp://x' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^color: .*; url: expected an http\(s\) URL/);
    const badUrl = await control('POST', '/gateway/stage', { color: 'green', url: 'ftp://x' });
    expect(badUrl.status).toBe(400);
    expect(badUrl.json.error).toMatch(/^url: expected an http\(s\) URL of a server root/);
    expect((await control('GET', '/gateway/switch')).status).toBe(405);
    expect((await control('GET', '/gateway/nope')).status).toBe(404);
  });

  it('stages, checks and switches; a request in flight finishes on the old color; rollback goes back', async () => {
    const [blue, green] = await servers(['1', { delayMs: 400 }], ['2']);
    const { control, infer, url } = await start({ blue: blue!.url, check: { samples: 3 } });
    expect((await control('POST', '/gateway/stage', { color: 'blue', url: green!.url })).json.code).toBe(
      'VIGIL_GATEWAY_ACTIVE_COLOR',
    );
    expect((await control('POST', '/gateway/stage', { color: 'green', url: green!.url })).status).toBe(200);
    expect((await control('POST', '/gateway/switch', { color: 'green' })).json.code).toBe(
      'VIGIL_GATEWAY_NOT_CHECKED',
    );

    const check = await control('POST', '/gateway/check', { color: 'green' });
    expect(check.status).toBe(200);
    expect(check.json).toMatchObject({ ok: true, modelVersion: '2', latencyMs: { samples: 3 } });
    expect((check.json.steps as { name: string }[]).map((s) => s.name)).toEqual([
      'live',
      'ready',
      'model-ready',
      'metadata',
      'infer',
      'shape',
    ]);
    expect((check.json.steps as { detail?: string }[])[5]!.detail).toBe('matches the live blue');

    const slow = infer(); // blue answers after 400 ms
    await new Promise((r) => setTimeout(r, 50));
    const switched = await control('POST', '/gateway/switch', { color: 'green' });
    expect(switched.json).toMatchObject({ active: 'green', previous: 'blue', changed: true, by: 'ops' });
    expect(await infer()).toEqual({ status: 200, color: 'green', version: '2' });
    expect(await slow).toEqual({ status: 200, color: 'blue', version: '1' });

    const status = await control('GET', '/gateway/status');
    expect(status.json).toMatchObject({ active: 'green', previous: 'blue' });
    expect(
      (status.json.upstreams as Record<string, { model: { versions: string[] } }>).blue!.model.versions,
    ).toEqual(['1']);

    const back = await control('POST', '/gateway/rollback', {});
    expect(back.json).toMatchObject({ active: 'blue', previous: 'green', changed: true });
    expect((await infer()).color).toBe('blue');
    const raw = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{"inputs":[]}' });
    expect(raw.headers.get('x-seldon-route')).toBe('1');
  });

  it('refuses a switch to a color whose last check failed, naming the reason, and one whose check is stale', async () => {
    const [blue, sick, odd] = await servers(['1'], ['2', { ready: false }], ['3', { outputName: 'score' }]);
    const { control, infer } = await start({
      blue: blue!.url,
      green: sick!.url,
      check: { maxAgeMs: 300, samples: 1 },
    });
    const check = await control('POST', '/gateway/check', { color: 'green' });
    expect(check.json).toMatchObject({
      ok: false,
      reason: 'ready: GET /v2/health/ready answered 503: loading',
    });
    const refused = await control('POST', '/gateway/switch', { color: 'green' });
    expect(refused.status).toBe(409);
    expect(refused.json.code).toBe('VIGIL_GATEWAY_CHECK_FAILED');
    expect(refused.json.error).toMatch(
      /last check of green .* failed: ready: GET \/v2\/health\/ready answered 503/,
    );
    expect((await infer()).color).toBe('blue');

    // Another output name than the live color answers with: the shape comparison fails.
    await control('POST', '/gateway/stage', { color: 'green', url: odd!.url });
    const shape = await control('POST', '/gateway/check', { color: 'green' });
    expect(shape.json.ok).toBe(false);
    expect(shape.json.reason).toMatch(
      /^shape: against the live blue: outputs score:FP32\[1,1\], expected probability:FP32\[1,1\]/,
    );

    // The operator's expected signature replaces the comparison with the live color.
    const expected = await control('POST', '/gateway/check', {
      color: 'green',
      expect: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
    });
    expect(expected.json.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    const stale = await control('POST', '/gateway/switch', { color: 'green' });
    expect(stale.status).toBe(409);
    expect(stale.json.code).toBe('VIGIL_GATEWAY_CHECK_STALE');
    expect(stale.json.error).toMatch(/check.maxAgeMs/);
    expect((await control('POST', '/gateway/rollback', {})).json.code).toBe('VIGIL_GATEWAY_NO_PREVIOUS');
  });

  it('uses the operator request for the smoke inference and reports the upstream refusing it', async () => {
    const [blue, green] = await servers(['1'], ['2']);
    const { control } = await start({ blue: blue!.url, green: green!.url, check: { samples: 1 } });
    const request = { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [3, 4] }] };
    expect((await control('POST', '/gateway/check', { color: 'green', request })).json.ok).toBe(true);
    expect(JSON.parse(green!.seen.find((s) => s.url === '/v2/models/m/infer')!.body)).toEqual(request);
    const badModel = await control('POST', '/gateway/check', { color: 'green', model: 'other' });
    expect(badModel.json).toMatchObject({ ok: false });
    expect(badModel.json.reason).toMatch(/^model-ready: GET \/v2\/models\/other\/ready answered 404/);
  });
  it('drains on close: a request in flight finishes, new connections are refused', async () => {
    const [blue] = await servers(['1', { delayMs: 300 }]);
    const { gateway, infer, url } = await start({ blue: blue!.url });
    const inFlight = infer();
    await new Promise((r) => setTimeout(r, 50));
    const closed = gateway.close();
    expect(await inFlight).toEqual({ status: 200, color: 'blue', version: '1' });
    await closed;
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });
  it('keeps the routing state in a state file across restarts; checks are not kept', async () => {
    const [blue, green] = await servers(['1'], ['2']);
    const stateFile = join(await mkdtemp(join(tmpdir(), 'vigil-gateway-')), 'state.json');
    const first = await start({ blue: blue!.url, green: green!.url, stateFile, check: { samples: 1 } });
    expect((await first.control('POST', '/gateway/check', { color: 'green' })).json.ok).toBe(true);
    expect((await first.control('POST', '/gateway/switch', { color: 'green' })).status).toBe(200);
    await first.gateway.close();
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({
      version: 1,
      active: 'green',
      previous: 'blue',
      upstreams: { blue: blue!.url, green: green!.url },
    });

    // The flags say blue; the state file says green served last: it wins.
    const second = await start({ blue: blue!.url, stateFile });
    expect(second.gateway.active).toBe('green');
    expect(await second.infer()).toMatchObject({ color: 'green', version: '2' });
    expect((await second.control('POST', '/gateway/rollback', {})).json).toMatchObject({ active: 'blue' });
    const again = await second.control('POST', '/gateway/switch', { color: 'green' });
    expect(again.json.code).toBe('VIGIL_GATEWAY_NOT_CHECKED');

    await writeFile(
      stateFile,
      '{"version":1,"active":"green","previous":null,"switchedAt":null,"upstreams":{}}',
    );
    expect(() => new Gateway({ stateFile })).toThrow(
      `stateFile: ${stateFile}: green has no upstream; fix or delete it`,
    );
    await writeFile(stateFile, '{not json');
    expect(() => new Gateway({ stateFile })).toThrow(/stateFile: .* is not valid JSON/);
  });
});
