import { Agent, request as httpRequest } from 'node:http';
import { createRng, type Rng } from '@vigil/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxServer } from '../onnx-server.js';
import { closeTestServers, patients, startTestServer } from '../testing/fixtures.js';

/**
 * 10,000 seeded fuzzed HTTP requests against a server with API keys, a real ONNX model and
 * an entity resolver (no fallback, so a failing model path would surface as a 5xx). Every
 * answer is < 500, the known-invalid ones 4xx, the known-valid ones 200; afterwards the
 * server answers a valid request exactly as before.
 */
const SEED = 20_261_204;
const REQUESTS = 10_000;
const CONCURRENCY = 8;
const KEYS = { predict: 'fuzz-predict-key-0123456789', operate: 'fuzz-operate-key-0123456789' };
const table = patients(50);
const ids = [...table.keys()];

let server: OnnxServer;
let host: string;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

beforeAll(async () => {
  ({ server } = await startTestServer(table, {
    bodyLimitBytes: 64 * 1024,
    seed: 1,
    pseudonymKey: 'fuzz-pseudonym-key-0123456789',
    auth: {
      keys: [
        { name: 'app', key: KEYS.predict, role: 'predict' },
        { name: 'ops', key: KEYS.operate, role: 'operate' },
      ],
    },
  }));
  server.setMetricsSource(() => 'up 1\n');
  const url = new URL((await server.listen({})).url);
  host = url.hostname;
  port = Number(url.port);
});
afterAll(async () => {
  agent.destroy();
  await closeTestServers();
});

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(req: Sent): Promise<Answer> {
  // node's client frames DELETE/OPTIONS bodies with neither Content-Length nor chunking;
  // an explicit length keeps every request a well-framed HTTP message.
  const headers =
    req.body === undefined
      ? req.headers
      : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) };
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host, port, method: req.method, path: req.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    r.on('error', reject);
    if (req.body !== undefined) r.end(req.body);
    else r.end();
  });
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)]!;

/** Junk values of every JSON kind, some huge or deep. */
function junk(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 8 : 11)) {
    case 0:
      return null;
    case 1:
      return pick(rng, [1e308, -1e308, 3.4e39, -0, 2 ** 53 + 1, 1e-320, 0.1]);
    case 2:
      return rng.int(2) === 0;
    case 3:
      return pick(rng, ['', 'FP32', 'patient_id', 'input', '__proto__', '∞', 'x'.repeat(rng.int(3000))]);
    case 4:
      return rng.int(1_000_000_000) - 500_000_000;
    case 5:
      return pick(rng, [-1, 0, 1, 4, 2 ** 31, Number.MAX_SAFE_INTEGER]);
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return Array.from({ length: rng.int(5) }, () => junk(rng, depth + 1));
    case 9:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [
          pick(rng, ['name', 'shape', 'data', 'inputs', 'x', 'constructor']),
          junk(rng, depth + 1),
        ]),
      );
    default: {
      let nested: unknown = 1;
      for (let i = rng.int(200); i > 0; i--) nested = [nested];
      return nested;
    }
  }
}

function validRows(rng: Rng, n: number): number[][] {
  return Array.from({ length: n }, () =>
    Array.from({ length: 4 }, () => Math.round((rng.next() * 6 - 3) * 100) / 100),
  );
}
const matrixBody = (rng: Rng) => {
  const n = 1 + rng.int(4);
  return { inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', data: validRows(rng, n) }] };
};
const entityBody = (rng: Rng) => {
  const n = 1 + rng.int(3);
  return {
    inputs: [
      {
        name: 'patient_id',
        shape: [n],
        datatype: 'BYTES',
        data: Array.from({ length: n }, () => pick(rng, ids)),
      },
    ],
  };
};

/** Replace one random node of a JSON value with junk. */
function mutate(rng: Rng, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || rng.int(4) === 0) return junk(rng);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? [...value]
    : { ...(value as object) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return junk(rng);
  const key = pick(rng, keys);
  if (rng.int(8) === 0) delete (copy as Record<string, unknown>)[key];
  else (copy as Record<string, unknown>)[key] = mutate(rng, (copy as Record<string, unknown>)[key]);
  return copy;
}

function mutateBytes(rng: Rng, text: string): string {
  const chars = [...text];
  for (let i = 1 + rng.int(4); i > 0; i--) {
    const at = rng.int(chars.length + 1);
    const op = rng.int(3);
    if (op === 0) chars.splice(at, 1);
    else if (op === 1)
      chars.splice(at, 0, pick(rng, ['{', '}', '[', ']', '"', ',', ':', '\\', 'e', '9', '-', '\u0000', 'é']));
    else chars[at] = pick(rng, ['0', '"', 'n', ']']);
  }
  return chars.join('');
}

function binaryBody(rng: Rng, corrupt: boolean): { body: Uint8Array; headers: Record<string, string> } {
  const n = 1 + rng.int(3);
  const header = {
    inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', parameters: { binary_data_size: n * 16 } }],
  };
  const json = Buffer.from(JSON.stringify(header));
  const floats = new Float32Array(validRows(rng, n).flat());
  const body = Buffer.concat([json, Buffer.from(floats.buffer)]);
  let length = String(json.length);
  if (corrupt) {
    length = pick(rng, [
      String(json.length + 1 + rng.int(8)),
      String(Math.max(0, json.length - 1 - rng.int(8))),
      String(body.length + 1 + rng.int(1000)),
      '-5',
      'abc',
      '1e3',
      '99999999999999999999',
      ' ',
    ]);
  }
  return {
    body,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': length },
  };
}

const auth = (role: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[role]}` });
const JSON_TYPE = { 'content-type': 'application/json' };

/** What a request must get: exactly 200, a 4xx, or anything below 500. */
type Expect = 'ok' | '4xx' | 'any';

function fuzzed(rng: Rng): { req: Sent; expect: Expect; kind: string } {
  const infer = pick(rng, [
    '/v2/models/ae/infer',
    '/v2/models/ae/versions/v1/infer',
    '/v2/models/ae/versions/v2/infer',
  ]);
  switch (rng.int(12)) {
    case 0:
      return {
        kind: 'valid matrix',
        expect: 'ok',
        req: {
          method: 'POST',
          path: infer,
          headers: { ...JSON_TYPE, ...auth('predict') },
          body: JSON.stringify(matrixBody(rng)),
        },
      };
    case 1:
      return {
        kind: 'valid entity ids',
        expect: 'ok',
        req: {
          method: 'POST',
          path: infer,
          headers: { ...JSON_TYPE, ...auth('predict') },
          body: JSON.stringify(entityBody(rng)),
        },
      };
    case 2: {
      const base = rng.int(2) === 0 ? matrixBody(rng) : entityBody(rng);
      return {
        kind: 'mutated body',
        expect: 'any',
        req: {
          method: 'POST',
          path: infer,
          headers: { ...JSON_TYPE, ...auth('predict') },
          body: JSON.stringify(mutate(rng, base)),
        },
      };
    }
    case 3:
      return {
        kind: 'mutated bytes',
        expect: 'any',
        req: {
          method: 'POST',
          path: infer,
          headers: { ...JSON_TYPE, ...auth('predict') },
          body: mutateBytes(rng, JSON.stringify(matrixBody(rng))),
        },
      };
    case 4: {
      const corrupt = rng.int(3) !== 0;
      const { body, headers } = binaryBody(rng, corrupt);
      return {
        kind: corrupt ? 'binary, corrupted header length' : 'binary',
        expect: corrupt ? '4xx' : 'ok',
        req: { method: 'POST', path: infer, headers: { ...headers, ...auth('predict') }, body },
      };
    }
    case 5: {
      const body = matrixBody(rng) as { inputs: Record<string, unknown>[] };
      const tensor = body.inputs[0]!;
      if (rng.int(2) === 0) tensor.datatype = pick(rng, ['INT64', 'BYTES', 'BOOL', 'fp32', 'FP16', 5, null]);
      else tensor.shape = pick(rng, [[1, 3], [4], [-1, 4], [1.5, 4], [1, 4, 1], [1e9, 4], 'x', [1, 5]]);
      return {
        kind: 'wrong datatype or shape',
        expect: '4xx',
        req: {
          method: 'POST',
          path: infer,
          headers: { ...JSON_TYPE, ...auth('predict') },
          body: JSON.stringify(body),
        },
      };
    }
    case 6: {
      const body = matrixBody(rng) as { inputs: { data: unknown[][] }[] };
      body.inputs[0]!.data[0]![rng.int(4)] = pick(rng, [
        1e308,
        -1e308,
        3.4e39,
        1e-320,
        Number.MAX_SAFE_INTEGER,
      ]);
      return {
        kind: 'huge numbers',
        expect: 'ok',
        req: {
          method: 'POST',
          path: infer,
          headers: { ...JSON_TYPE, ...auth('predict') },
          body: JSON.stringify(body),
        },
      };
    }
    case 7: {
      const segments = Array.from({ length: 1 + rng.int(5) }, () =>
        pick(rng, [
          'v2',
          'models',
          'ae',
          'zz',
          'infer',
          'ready',
          'versions',
          'v1',
          'patients',
          'P0001',
          'risk',
          'health',
          '%2e%2e',
          '..',
          'route',
          'rollback',
          'metrics',
          '%00',
          '%E0%A4%A',
          'x'.repeat(rng.int(300)),
        ]),
      );
      const method = pick(rng, ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
      const withBody = method !== 'GET' && method !== 'HEAD' && rng.int(2) === 0;
      return {
        kind: 'random path',
        expect: 'any',
        req: {
          method,
          path: `/${segments.join('/')}${rng.int(4) === 0 ? '?model=zz&x=%ZZ' : ''}`,
          headers: { ...JSON_TYPE, ...auth(pick(rng, ['predict', 'operate'])) },
          ...(withBody ? { body: JSON.stringify(junk(rng)) } : {}),
        },
      };
    }
    case 8: {
      const type = pick(rng, [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        'image/png',
        'garbage',
        '',
        'application/octet-stream',
      ]);
      return {
        kind: 'random content type',
        expect: 'any',
        req: {
          method: 'POST',
          path: infer,
          headers: { ...(type ? { 'content-type': type } : {}), ...auth('predict') },
          body: rng.int(2) === 0 ? JSON.stringify(matrixBody(rng)) : String(junk(rng)),
        },
      };
    }
    case 9: {
      const header: Record<string, string> = pick<Record<string, string>>(rng, [
        {},
        { authorization: 'Bearer' },
        { authorization: `Bearer ${KEYS.predict.slice(0, -1)}` },
        { authorization: `Basic ${Buffer.from(KEYS.predict).toString('base64')}` },
        { authorization: `Bearer ${'k'.repeat(5000)}` },
        { 'x-api-key': KEYS.predict.toUpperCase() },
        { authorization: `Token ${KEYS.predict}` },
        { 'x-api-key': '' },
      ]);
      return {
        kind: 'bad credentials',
        expect: '4xx',
        req: {
          method: pick(rng, ['GET', 'POST']),
          path: pick(rng, [infer, '/v2', '/v2/models/ae', '/patients/P0001/risk', '/metrics']),
          headers: { ...JSON_TYPE, ...header },
          body: JSON.stringify(matrixBody(rng)),
        },
      };
    }
    case 10:
      return {
        kind: 'clinician',
        expect: 'any',
        req: {
          method: 'GET',
          path: `/patients/${encodeURIComponent(rng.int(2) === 0 ? pick(rng, ids) : String(junk(rng)).slice(0, 300) || 'x')}/risk`,
          headers: auth('predict'),
        },
      };
    default: {
      const body =
        rng.int(2) === 0
          ? mutate(rng, {
              candidates: [
                { version: 'v1', weight: 1 },
                { version: 'v2', weight: 1 },
              ],
            })
          : junk(rng);
      return {
        kind: 'route junk',
        expect: 'any',
        req: {
          method: 'PUT',
          path: '/v2/models/ae/route',
          headers: { ...JSON_TYPE, ...auth(pick(rng, ['predict', 'operate'])) },
          body: JSON.stringify(body) ?? 'null',
        },
      };
    }
  }
}

const reference = JSON.stringify({
  id: 'reference',
  inputs: [
    {
      name: 'input',
      shape: [3, 4],
      datatype: 'FP32',
      data: [
        [0.1, 0.2, 0.3, 0.4],
        [-1, 2, -3, 4],
        [null, 1, null, 1],
      ],
    },
  ],
});
const referenceEntities = JSON.stringify({
  id: 'reference-ids',
  inputs: [{ name: 'patient_id', shape: [3], datatype: 'BYTES', data: ['P0001', 'P0002', 'P0003'] }],
});
async function answerOf(path: string, body: string): Promise<unknown> {
  const res = await send({ method: 'POST', path, headers: { ...JSON_TYPE, ...auth('predict') }, body });
  expect(res.status, res.body).toBe(200);
  const json = JSON.parse(res.body) as { parameters: Record<string, unknown> };
  // Prediction ids are request id + row index (deterministic); everything else must be identical.
  return json;
}

describe('HTTP fuzzing', () => {
  it(`${REQUESTS} seeded fuzzed requests: never a 5xx, invalid ones 4xx, and the answers do not change`, async () => {
    const before = [
      await answerOf('/v2/models/ae/versions/v1/infer', reference),
      await answerOf('/v2/models/ae/versions/v2/infer', referenceEntities),
    ];
    const rng = createRng(SEED);
    const requests = Array.from({ length: REQUESTS }, () => fuzzed(rng));
    const tally = new Map<string, Map<number, number>>();
    const problems: string[] = [];
    let closed = 0;
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const i = next++;
        const { req, expect: wanted, kind } = requests[i]!;
        let status: number;
        let body = '';
        let headers: Answer['headers'] = {};
        try {
          ({ status, body, headers } = await send(req));
        } catch (error) {
          problems.push(
            `#${i} ${kind} ${req.method} ${req.path.slice(0, 60)}: the connection failed: ${(error as Error).message}`,
          );
          continue;
        }
        if (headers.connection === 'close') closed++;
        const counts = tally.get(kind) ?? new Map<number, number>();
        counts.set(status, (counts.get(status) ?? 0) + 1);
        tally.set(kind, counts);
        const bad =
          status >= 500 ||
          status < 200 ||
          (wanted === 'ok' && status !== 200) ||
          (wanted === '4xx' && (status < 400 || status >= 500));
        if (bad && problems.length < 20) {
          problems.push(
            `#${i} ${kind} ${req.method} ${req.path.slice(0, 80)} → ${status} ${body.slice(0, 160)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const summary = Object.fromEntries(
      [...tally].map(([kind, counts]) => [kind, Object.fromEntries(counts)]),
    );
    expect(problems, JSON.stringify(summary)).toEqual([]);
    const total = [...tally.values()].flatMap((c) => [...c.values()]).reduce((s, n) => s + n, 0);
    expect(total).toBe(REQUESTS);
    // Every kind of request was sent, and the invalid ones were many.
    expect(tally.size).toBe(13);
    // Still alive, and the same answers as before.
    expect((await send({ method: 'GET', path: '/v2/health/live', headers: {} })).status).toBe(200);
    const after = [
      await answerOf('/v2/models/ae/versions/v1/infer', reference),
      await answerOf('/v2/models/ae/versions/v2/infer', referenceEntities),
    ];
    expect(after).toEqual(before);
    console.log(
      `fuzz: ${REQUESTS} requests (${closed} answered with Connection: close after a body error), status counts by kind: ${JSON.stringify(summary)}`,
    );
  }, 120_000);

  it('requests without a valid key (or with too low a role) to every protected endpoint are refused: 100 %', async () => {
    await server.route('ae', { candidates: [{ version: 'v1', weight: 1 }] });
    const routeBefore = server.getRoute('ae');
    const protectedEndpoints: { method: string; path: string; body?: string; role: 'predict' | 'operate' }[] =
      [
        { method: 'GET', path: '/v2', role: 'predict' },
        { method: 'GET', path: '/v2/models/ae', role: 'predict' },
        { method: 'GET', path: '/v2/models/ae/versions/v1', role: 'predict' },
        { method: 'GET', path: '/v2/models/ae/ready', role: 'predict' },
        { method: 'GET', path: '/v2/models/ae/versions/v1/ready', role: 'predict' },
        { method: 'POST', path: '/v2/models/ae/infer', body: reference, role: 'predict' },
        { method: 'POST', path: '/v2/models/ae/versions/v1/infer', body: referenceEntities, role: 'predict' },
        { method: 'GET', path: '/patients/P0001/risk', role: 'predict' },
        { method: 'GET', path: '/metrics', role: 'predict' },
        { method: 'GET', path: '/v2/no/such/endpoint', role: 'predict' },
        {
          method: 'PUT',
          path: '/v2/models/ae/route',
          body: JSON.stringify({ candidates: [{ version: 'v2', weight: 1 }] }),
          role: 'operate',
        },
        { method: 'POST', path: '/v2/models/ae/rollback', role: 'operate' },
      ];
    const invalid: Record<string, string>[] = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${KEYS.predict}x` },
      { authorization: `Bearer ${KEYS.predict.slice(1)}` },
      { authorization: `Bearer ${KEYS.predict.toUpperCase()}` },
      { authorization: `Basic ${Buffer.from(`app:${KEYS.predict}`).toString('base64')}` },
      { authorization: KEYS.predict },
      { 'x-api-key': `${KEYS.operate}-` },
      { 'x-api-key': 'null' },
      { 'x-vigil-api-key': KEYS.operate },
      { cookie: `key=${KEYS.operate}` },
    ];
    let sent = 0;
    let refused = 0;
    const accepted: string[] = [];
    for (const endpoint of protectedEndpoints) {
      const attempts = [...invalid];
      if (endpoint.role === 'operate')
        attempts.push({ authorization: `Bearer ${KEYS.predict}` }, { 'x-api-key': KEYS.predict });
      for (const credentials of attempts) {
        const res = await send({
          method: endpoint.method,
          path: endpoint.path,
          headers: { ...(endpoint.body ? JSON_TYPE : {}), ...credentials },
          ...(endpoint.body ? { body: endpoint.body } : {}),
        });
        sent++;
        const expected =
          (Object.keys(credentials).some((h) => h === 'authorization' || h === 'x-api-key') &&
            credentials.authorization === `Bearer ${KEYS.predict}`) ||
          credentials['x-api-key'] === KEYS.predict
            ? 403
            : 401;
        if (res.status === expected) refused++;
        else
          accepted.push(`${endpoint.method} ${endpoint.path} ${JSON.stringify(credentials)} → ${res.status}`);
      }
    }
    console.log(`auth: ${refused} of ${sent} requests without a valid key (or role) refused`);
    expect(accepted).toEqual([]);
    expect(refused).toBe(sent);
    expect(sent).toBe(protectedEndpoints.length * invalid.length + 4);
    expect(server.getRoute('ae')).toEqual(routeBefore);
    // The same endpoints with the right key are served (so the refusals above were about the key).
    for (const endpoint of protectedEndpoints) {
      const res = await send({
        method: endpoint.method,
        path: endpoint.path,
        headers: { ...(endpoint.body ? JSON_TYPE : {}), ...auth(endpoint.role) },
        ...(endpoint.body ? { body: endpoint.body } : {}),
      });
      expect([401, 403], `${endpoint.method} ${endpoint.path}`).not.toContain(res.status);
    }
  });
});
