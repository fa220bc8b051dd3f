import { connect } from 'node:net';
import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OnnxServer, onnxServer } from '../index.js';

const featureNames = ['a', 'b', 'c'];
const body = (data: unknown, shape = [1, 3]) =>
  JSON.stringify({ inputs: [{ name: 'input', shape, datatype: 'FP32', data }] });

let ctx: TestContext;
let server: OnnxServer;
let url: string;

beforeAll(async () => {
  ctx = await createTestContext();
  server = (await onnxServer.create(
    onnxServer.config.parse({ bodyLimitBytes: 64 * 1024 }),
    ctx,
  )) as OnnxServer;
  await server.load({
    name: 'ae',
    version: 'v1',
    artifact: logisticRegressionOnnx({ weights: [1, 2, 3], bias: 0, featureNames }),
  });
  await server.load({
    name: 'ae',
    version: 'v2',
    artifact: logisticRegressionOnnx({ weights: [-1, 0, 1], bias: 1, featureNames }),
  });
  await server.route('ae', {
    candidates: [
      { version: 'v1', weight: 1 },
      { version: 'v2', weight: 1 },
    ],
  });
  ({ url } = await server.listen({}));
});
afterAll(async () => {
  await server.close();
  await ctx.cleanup();
});

const post = (path: string, payload: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
  });

/** Write raw bytes to the port and return what comes back before the socket closes. */
function raw(payload: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => socket.end(payload));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(received));
    socket.on('error', () => resolve(received));
    socket.setTimeout(2000, () => socket.destroy());
  });
}

describe('HTTP layer', () => {
  it('binds 127.0.0.1 on a free port and listen() is idempotent', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await server.listen({})).url).toBe(url);
    const root = await fetch(`${url}/v2`);
    expect(await root.json()).toEqual({ name: 'vigil-onnx-server', version: '0.1.0', extensions: [] });
    expect(await (await fetch(`${url}/v2/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${url}/v2/models/ae/versions/v2/ready`)).json()).toEqual({
      name: 'ae',
      ready: true,
    });
    const meta = await (await fetch(`${url}/v2/models/ae/versions/v2`)).json();
    expect(meta).toMatchObject({ name: 'ae', versions: ['v2'], platform: 'onnxruntime' });
  });

  it('x-vigil-route-key routes stickily; x-seldon-route pins', async () => {
    const seen = new Set<string>();
    for (let k = 0; k < 16; k++) {
      const versions = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const res = await post('/v2/models/ae/infer', body([1, 2, 3]), { 'x-vigil-route-key': `site-${k}` });
        versions.add(res.headers.get('x-seldon-route')!);
      }
      expect(versions.size).toBe(1);
      seen.add([...versions][0]!);
    }
    expect(seen.size).toBe(2);
    const pinned = await post('/v2/models/ae/infer', body([1, 2, 3]), { 'x-seldon-route': 'v9' });
    expect(pinned.status).toBe(404);
    expect(((await pinned.json()) as { error: string }).error).toMatch(/no loaded version 'v9'/);
  });

  it('answers a barrage of bad requests with 4xx JSON, never 500, and keeps serving', async () => {
    const bad: [string, () => Promise<Response>][] = [
      ['malformed JSON', () => post('/v2/models/ae/infer', '{"inputs": [')],
      ['empty body', () => post('/v2/models/ae/infer', '')],
      ['JSON null', () => post('/v2/models/ae/infer', 'null')],
      ['JSON array', () => post('/v2/models/ae/infer', '[1,2,3]')],
      ['JSON string', () => post('/v2/models/ae/infer', '"hello"')],
      ['prototype pollution', () => post('/v2/models/ae/infer', '{"__proto__": {"x": 1}, "inputs": []}')],
      ['binary garbage', () => post('/v2/models/ae/infer', new Uint8Array([0, 255, 254, 1, 2, 3]))],
      ['text/plain', () => post('/v2/models/ae/infer', body([1, 2, 3]), { 'content-type': 'text/plain' })],
      [
        'form encoding',
        () => post('/v2/models/ae/infer', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }),
      ],
      ['huge body', () => post('/v2/models/ae/infer', body(new Array(120_000).fill(1), [40_000, 3]))],
      [
        'deep nesting',
        () => post('/v2/models/ae/infer', body(JSON.parse(`${'['.repeat(2000)}1${']'.repeat(2000)}`))),
      ],
      ['string data', () => post('/v2/models/ae/infer', body(['1', 2, 3]))],
      ['wrong shape', () => post('/v2/models/ae/infer', body([1, 2, 3], [3, 1]))],
      ['shape too big', () => post('/v2/models/ae/infer', body([1, 2, 3], [1e12, 3]))],
      [
        'bad outputs',
        () => post('/v2/models/ae/infer', JSON.stringify({ ...JSON.parse(body([1, 2, 3])), outputs: 5 })),
      ],
      ['unknown model', () => post('/v2/models/zz/infer', body([1, 2, 3]))],
      ['unknown version', () => post('/v2/models/ae/versions/v7/infer', body([1, 2, 3]))],
      ['unknown path', () => fetch(`${url}/v3/anything`)],
      ['GET infer', () => fetch(`${url}/v2/models/ae/infer`)],
      ['long model name', () => post(`/v2/models/${'m'.repeat(5000)}/infer`, body([1, 2, 3]))],
      ['percent garbage', () => fetch(`${url}/v2/models/%E0%A4%A/ready`)],
    ];
    for (const [what, send] of bad) {
      const res = await send();
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      const json = (await res.json()) as Record<string, unknown>;
      // `error` always; `code` (a stable VIGIL_* code) when the server raised the error itself.
      expect(
        Object.keys(json).filter((k) => k !== 'code'),
        what,
      ).toEqual(['error']);
      expect(typeof json.error, what).toBe('string');
      if (json.code !== undefined) expect(json.code, what).toMatch(/^VIGIL_[A-Z_]+$/);
    }
    const garbage = await raw('GARBAGE / NOTHTTP\r\n\r\n');
    expect(garbage.startsWith('HTTP/1.1 5')).toBe(false);
    await raw(
      `POST /v2/models/ae/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"inp`,
    );
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => post('/v2/models/ae/infer', body([[0.1, null, 0.3]]))),
    ).then((all) => all.map((r) => r.status));
    expect(statuses).toEqual(new Array(20).fill(200));
  });

  it('the infer fast path answers exactly as fastify does (a query string sends a request through fastify)', async () => {
    const withId = (data: unknown) => JSON.stringify({ id: 'r1', ...JSON.parse(body(data)) });
    const header = new TextEncoder().encode(
      JSON.stringify({
        id: 'r2',
        inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }],
      }),
    );
    const binary = new Uint8Array([...header, ...new Uint8Array(new Float32Array([1, 2, 3]).buffer)]);
    const cases: [string, string, string | Uint8Array, Record<string, string>][] = [
      ['valid JSON', '/v2/models/ae/infer', withId([1, 2, 3]), { 'x-vigil-route-key': 'site-1' }],
      ['valid, no content type', '/v2/models/ae/infer', withId([1, 2, 3]), { 'content-type': '' }],
      ['pinned version', '/v2/models/ae/infer', withId([1, 2, 3]), { 'x-seldon-route': 'v2' }],
      ['versioned path', '/v2/models/ae/versions/v1/infer', withId([1, null, 3]), {}],
      [
        'binary extension',
        '/v2/models/ae/infer',
        binary,
        {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(header.length),
        },
      ],
      [
        'binary, bad header length',
        '/v2/models/ae/infer',
        binary,
        { 'content-type': '', 'inference-header-content-length': '9999' },
      ],
      ['malformed JSON', '/v2/models/ae/infer', '{"inputs": [', {}],
      ['prototype pollution', '/v2/models/ae/infer', '{"__proto__": {"x": 1}, "inputs": []}', {}],
      ['wrong shape', '/v2/models/ae/infer', body([1, 2, 3], [3, 1]), {}],
      ['unknown model', '/v2/models/zz/infer', body([1, 2, 3]), {}],
      ['unknown version', '/v2/models/ae/versions/v7/infer', body([1, 2, 3]), {}],
      ['unknown pinned version', '/v2/models/ae/infer', body([1, 2, 3]), { 'x-seldon-route': 'v9' }],
    ];
    const answer = async (res: Response) => {
      const json = (await res.json()) as Record<string, unknown>;
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        route: res.headers.get('x-seldon-route'),
        connection: res.headers.get('connection'),
        json,
      };
    };
    for (const [what, path, payload, extra] of cases) {
      // A route key, so that both requests go to the same version.
      const headers = { 'x-vigil-route-key': 'site-1', ...extra };
      const fast = await answer(await post(path, payload, headers));
      const slow = await answer(await post(`${path}?via=fastify`, payload, headers));
      expect(fast, what).toEqual(slow);
    }
  });
});
