import type { OipTensor } from '@vigil/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { OnnxServerOptions } from '../onnx-server.js';
import { B1, closeTestServers, logistic, patients, startTestServer, W1 } from '../testing/fixtures.js';

const KEYS = {
  app: 'predict-key-0123456789abcdef',
  ops: 'operate-key-0123456789abcdef',
  root: 'admin-key-0123456789abcdefgh',
};
const table = patients(10);

afterEach(closeTestServers);

async function start(options: Partial<OnnxServerOptions> = {}) {
  const { server, ort, resolver, fallback } = await startTestServer(
    table,
    { bodyLimitBytes: 16 * 1024, seed: 5, pseudonymKey: 'http-security-key-0123456789', ...options },
    { route: [{ version: 'v1', weight: 1 }] },
  );
  const { url } = await server.listen({});
  return { server, url, ort, resolver, fallback };
}

const withKeys: Partial<OnnxServerOptions> = {
  auth: {
    keys: [
      { name: 'app', key: KEYS.app, role: 'predict' },
      { name: 'ops', key: KEYS.ops, role: 'operate' },
      { name: 'root', key: KEYS.root, role: 'admin' },
    ],
  },
};
const inferBody = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
});
const JSON_TYPE = { 'content-type': 'application/json' };
const bearer = (key: string) => ({ ...JSON_TYPE, authorization: `Bearer ${key}` });

describe('API keys and roles', () => {
  it('health probes are open; every other endpoint needs a known key', async () => {
    const { url } = await start(withKeys);
    for (const path of ['/v2/health/live', '/v2/health/ready']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    }
    const endpoints: [string, string, string?][] = [
      ['GET', '/v2'],
      ['GET', '/v2/models/ae'],
      ['GET', '/v2/models/ae/ready'],
      ['GET', '/v2/models/ae/versions/v1'],
      ['POST', '/v2/models/ae/infer', inferBody],
      ['POST', '/v2/models/ae/versions/v1/infer', inferBody],
      ['GET', '/patients/P0001/risk'],
      ['GET', '/metrics'],
      ['GET', '/no/such/path'],
    ];
    for (const [method, path, body] of endpoints) {
      const send = (headers: Record<string, string>) =>
        fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body });
      const none = await send({});
      expect(none.status, `${method} ${path} without a key`).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(await none.json()).toMatchObject({
        code: 'VIGIL_SERVER_UNAUTHORIZED',
        error: /missing API key/,
      });
      expect((await send(bearer('wrong-key-0123456789abcdef'))).status).toBe(401);
      expect((await send({ authorization: `Basic ${btoa(`x:${KEYS.app}`)}` })).status).toBe(401);
      expect((await send({ 'x-api-key': `${KEYS.app}x` })).status).toBe(401);
      const ok = await send(bearer(KEYS.app));
      expect(ok.status, `${method} ${path} with a predict key`).not.toBe(401);
      expect(ok.status).not.toBe(403);
      expect((await send({ 'x-api-key': KEYS.app })).status).toBe(ok.status);
    }
    const answered = await fetch(`${url}/v2/models/ae/infer`, {
      method: 'POST',
      headers: bearer(KEYS.app),
      body: inferBody,
    });
    expect(answered.status).toBe(200);
    const probabilities = ((await answered.json()) as { outputs: OipTensor[] }).outputs[1]!.data as number[];
    expect(probabilities[1]).toBeCloseTo(logistic(W1, B1, [1, 2, 3, 4]), 5);
  });

  it('route and rollback need operate: 403 for predict, done for operate and admin', async () => {
    const { server, url } = await start(withKeys);
    const spec = {
      candidates: [
        { version: 'v1', weight: 9 },
        { version: 'v2', weight: 1 },
      ],
    };
    const put = (headers: Record<string, string>, body: unknown = spec) =>
      fetch(`${url}/v2/models/ae/route`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const forbidden = await put(bearer(KEYS.app));
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({
      code: 'VIGIL_SERVER_FORBIDDEN',
      error: /role predict; .* needs operate/,
    });
    expect(server.getRoute('ae')).toEqual({ candidates: [{ version: 'v1', weight: 1 }] });
    const done = await put(bearer(KEYS.ops));
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ name: 'ae', route: spec });
    expect(server.getRoute('ae')).toEqual(spec);
    const invalid = await put(bearer(KEYS.ops), { candidates: [{ version: 'v9', weight: 1 }] });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: 'VIGIL_SERVER_INVALID_ROUTE', error: /v9/ });
    expect((await put(bearer(KEYS.ops), 'nonsense')).status).toBe(400);
    const unknownModel = await fetch(`${url}/v2/models/zz/route`, {
      method: 'PUT',
      headers: bearer(KEYS.ops),
      body: JSON.stringify(spec),
    });
    expect(unknownModel.status).toBe(404);
    const rollback = (headers: Record<string, string>) =>
      fetch(`${url}/v2/models/ae/rollback`, {
        method: 'POST',
        headers: { authorization: headers.authorization! },
      });
    expect((await rollback(bearer(KEYS.app))).status).toBe(403);
    const back = await rollback(bearer(KEYS.root));
    expect(back.status).toBe(200);
    expect(await back.json()).toEqual({ name: 'ae', route: { candidates: [{ version: 'v1', weight: 1 }] } });
    expect(server.getRoute('ae')).toEqual({ candidates: [{ version: 'v1', weight: 1 }] });
    expect((await rollback(bearer(KEYS.ops))).status).toBe(400); // nothing left to roll back to
  });

  it('without keys configured, predictions are open but state changes are always refused', async () => {
    const { server, url } = await start();
    expect(
      (await fetch(`${url}/v2/models/ae/infer`, { method: 'POST', headers: JSON_TYPE, body: inferBody }))
        .status,
    ).toBe(200);
    for (const headers of [{}, bearer(KEYS.ops)]) {
      const put = await fetch(`${url}/v2/models/ae/route`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ candidates: [{ version: 'v2', weight: 1 }] }),
      });
      expect(put.status).toBe(401);
      expect(await put.json()).toMatchObject({
        code: 'VIGIL_SERVER_UNAUTHORIZED',
        error: /no API keys configured/,
      });
      const rollback = await fetch(`${url}/v2/models/ae/rollback`, {
        method: 'POST',
        headers: { ...headers },
      });
      expect(rollback.status).toBe(401);
    }
    expect(server.getRoute('ae')).toEqual({ candidates: [{ version: 'v1', weight: 1 }] });
  });
});

describe('metrics, clinician endpoint and fallback over HTTP', () => {
  it('GET /metrics serves the metrics source; public only with publicMetrics', async () => {
    const a = await start(withKeys);
    expect((await fetch(`${a.url}/metrics`, { headers: bearer(KEYS.app) })).status).toBe(404); // no source yet
    a.server.setMetricsSource(() => 'vigil_predictions_total 3\n');
    const res = await fetch(`${a.url}/metrics`, { headers: bearer(KEYS.app) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('vigil_predictions_total 3\n');
    expect((await fetch(`${a.url}/metrics`)).status).toBe(401);
    a.server.setMetricsSource(() => {
      throw new Error('monitor closed');
    });
    expect((await fetch(`${a.url}/metrics`, { headers: bearer(KEYS.app) })).status).toBe(503);
    const b = await start({ ...withKeys, publicMetrics: true });
    b.server.setMetricsSource(async () => 'up 1\n');
    expect(await (await fetch(`${b.url}/metrics`)).text()).toBe('up 1\n');
    expect((await fetch(`${b.url}/v2`)).status).toBe(401); // only /metrics became public
  });

  it('GET /patients/{id}/risk answers JSON; unknown patient, collection and model are 404', async () => {
    const { url } = await start(withKeys);
    const get = (path: string) => fetch(`${url}${path}`, { headers: bearer(KEYS.app) });
    const res = await get('/patients/P0002/risk');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      patient_id: 'P0002',
      model: { name: 'ae', version: 'v1' },
      fallback: false,
    });
    expect(body.probability as number).toBeCloseTo(logistic(W1, B1, table.get('P0002')!.row), 5);
    expect((body.drivers as unknown[]).length).toBe(4);
    expect(Object.keys(body.explanation as object).sort()).toEqual(['base', 'logit', 'method']);
    expect((await get('/patients/P0002/risk?model=ae')).status).toBe(200);
    for (const path of ['/patients/NOPE/risk', '/nurses/P0002/risk', '/patients/P0002/risk?model=zz']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
    }
    expect((await get('/patients/P0002/risk?model=a&model=b')).status).toBe(400);
  });

  it('a valid request never gets a 5xx with a fallback: model error, store error, deadline', async () => {
    const { server, url, ort: faulty, resolver, fallback } = await start({ ...withKeys, deadlineMs: 40 });
    const post = (body: string) =>
      fetch(`${url}/v2/models/ae/infer`, { method: 'POST', headers: bearer(KEYS.app), body });
    const byId = JSON.stringify({
      inputs: [{ name: 'patient_id', shape: [1], datatype: 'BYTES', data: ['P0004'] }],
    });
    // Without a fallback: today's errors.
    faulty.fail = true;
    expect((await post(inferBody)).status).toBe(500);
    faulty.fail = false;
    resolver.fail = true;
    const down = await post(byId);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ code: 'VIGIL_SERVER_FEATURES_UNAVAILABLE' });
    resolver.fail = false;

    server.setFallback('ae', fallback);
    const cases: [string, () => void, string, string][] = [
      ['model error', () => (faulty.fail = true), 'model-error', inferBody],
      ['store error', () => (resolver.fail = true), 'features-unavailable', byId],
      ['slow store', () => (resolver.delayMs = 300), 'deadline', byId],
      ['slow model', () => (faulty.delayMs = 300), 'deadline', inferBody],
    ];
    for (const [what, breakIt, reason, body] of cases) {
      faulty.fail = false;
      faulty.delayMs = 0;
      resolver.fail = false;
      resolver.delayMs = 0;
      breakIt();
      for (let i = 0; i < 5; i++) {
        const res = await post(body);
        expect(res.status, what).toBe(200);
        expect(res.headers.get('x-seldon-route'), what).toBeNull();
        const json = (await res.json()) as { model_version: string; parameters: Record<string, unknown> };
        expect(json.model_version).toBe('fallback-sum@1');
        expect(json.parameters).toMatchObject({ fallback: true, fallback_reason: reason });
      }
      const risk = await fetch(`${url}/patients/P0004/risk`, { headers: bearer(KEYS.app) });
      expect(risk.status, `${what}: risk`).toBe(200);
      expect(await risk.json()).toMatchObject({
        fallback: true,
        model: { name: 'ae', version: 'fallback-sum@1' },
      });
    }
    expect(server.stats().ae!.v1).toMatchObject({ fallbacks: 24 });
  });
});

describe('rate limits and body size', () => {
  it('429 with Retry-After per key (or per address), health probes exempt', async () => {
    const { url } = await start({ ...withKeys, rateLimit: { perSecond: 0.5, burst: 3 } });
    const call = (headers: Record<string, string>) => fetch(`${url}/v2/models/ae/ready`, { headers });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(bearer(KEYS.app))).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await call(bearer(KEYS.app));
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ code: 'VIGIL_SERVER_RATE_LIMITED' });
    // Another key has its own bucket; anonymous callers share their address's bucket.
    expect((await call(bearer(KEYS.ops))).status).toBe(200);
    const anonymous = [];
    for (let i = 0; i < 4; i++) anonymous.push((await call({})).status);
    expect(anonymous).toEqual([401, 401, 401, 429]);
    for (let i = 0; i < 10; i++) expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
  });

  it('bodies over bodyLimitBytes get 413', async () => {
    const { url } = await start(withKeys);
    const big = JSON.stringify({
      inputs: [{ name: 'input', shape: [2000, 4], datatype: 'FP32', data: new Array(8000).fill(0.123456) }],
    });
    const res = await fetch(`${url}/v2/models/ae/infer`, {
      method: 'POST',
      headers: bearer(KEYS.app),
      body: big,
    });
    expect(res.status).toBe(413);
  });
});
