/**
 * Contract suite for the Server port. Every Server adapter (the embedded onnxruntime
 * server, later Seldon/KServe) runs these cases; HTTP cases need the `http` capability,
 * routing cases `canary`, mirror cases `shadow`.
 *
 * The fixture hands two model artifacts with the same input width whose scores differ
 * (e.g. two logistic regressions with different weights). Each case loads them itself as
 * versions `v1` (artifacts[0]) and `v2` (artifacts[1]) of a model named `ae`.
 */
import assert from 'node:assert/strict';
import type { ModelArtifact } from '../domain/model.js';
import { type ErrorCode, isVigilError } from '../errors.js';
import type { InferenceRequest, InferenceResponse, OipTensor, Server } from '../ports/server.js';
import type { Contract, ContractCase, ContractFixture } from './contract.js';

export interface ServerFixture extends ContractFixture<Server> {
  /** Two models with the same input width that give different scores. */
  artifacts: [ModelArtifact, ModelArtifact];
}

const MODEL = 'ae';

function widthOf(artifact: ModelArtifact): number {
  const declared = artifact.inputs[0]?.shape[1] ?? -1;
  return declared > 0 ? declared : artifact.featureNames.length;
}

function inputNameOf(artifact: ModelArtifact): string {
  return artifact.inputs[0]?.name ?? 'input';
}

/** Deterministic rows of varied features (no randomness: the suite itself must be reproducible). */
function rowsOf(rows: number, width: number): number[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: width }, (_, c) => Math.round(Math.sin(r * 7.3 + c * 1.7) * 300) / 100),
  );
}

function request(fixture: ServerFixture, rows = 3, id?: string): InferenceRequest {
  const artifact = fixture.artifacts[0];
  const width = widthOf(artifact);
  const req: InferenceRequest = {
    inputs: [
      { name: inputNameOf(artifact), shape: [rows, width], datatype: 'FP32', data: rowsOf(rows, width) },
    ],
  };
  if (id !== undefined) req.id = id;
  return req;
}

async function loadBoth(fixture: ServerFixture): Promise<Server> {
  const { impl, artifacts } = fixture;
  await impl.load({ name: MODEL, version: 'v1', artifact: artifacts[0] });
  await impl.load({ name: MODEL, version: 'v2', artifact: artifacts[1] });
  return impl;
}

function output(response: InferenceResponse, name: string): OipTensor {
  const tensor = response.outputs.find((o) => o.name === name);
  assert.ok(tensor, `response has no output '${name}' (outputs: ${response.outputs.map((o) => o.name)})`);
  return tensor;
}

function flat(data: unknown[]): number[] {
  return (data as unknown[]).flat(Number.POSITIVE_INFINITY).map((v) => Number(v));
}

/** P(class 1) per row, checked to be probabilities. */
function scores(response: InferenceResponse, rows: number): number[] {
  const probabilities = output(response, 'probabilities');
  assert.deepEqual(probabilities.shape, [rows, 2], 'probabilities shape is [rows, 2]');
  const values = flat(probabilities.data);
  assert.equal(values.length, rows * 2, 'probabilities has rows × 2 values');
  for (const [i, p] of values.entries()) {
    assert.ok(p >= 0 && p <= 1, `probabilities[${i}] = ${p} is outside [0, 1]`);
  }
  for (let r = 0; r < rows; r++) {
    const sum = values[2 * r]! + values[2 * r + 1]!;
    assert.ok(Math.abs(sum - 1) < 1e-4, `row ${r} probabilities sum to ${sum}, not 1`);
  }
  return values.filter((_, i) => i % 2 === 1);
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<Error> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`${what}: expected ${code}, but it succeeded`),
    (error: unknown) => {
      caught = error;
    },
  );
  assert.ok(
    isVigilError(caught, code),
    `${what}: expected ${code}, got ${isVigilError(caught) ? caught.code : String(caught)}`,
  );
  return caught as Error;
}

/** Count which version answered over `calls` routed requests. */
async function tally(
  impl: Server,
  req: InferenceRequest,
  calls: number,
  routeKey?: (i: number) => string,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < calls; i++) {
    const response = await impl.infer(MODEL, req, routeKey ? { routeKey: routeKey(i) } : {});
    const version = response.model_version ?? '(none)';
    counts.set(version, (counts.get(version) ?? 0) + 1);
  }
  return counts;
}

async function json(response: Response): Promise<Record<string, unknown>> {
  const type = response.headers.get('content-type') ?? '';
  assert.match(type, /application\/json/, `${response.url}: content-type is ${type}, not JSON`);
  return (await response.json()) as Record<string, unknown>;
}

async function assertJsonError(response: Response, status: number, what: string): Promise<void> {
  assert.equal(response.status, status, `${what}: status ${response.status}, expected ${status}`);
  const body = await json(response);
  assert.equal(typeof body.error, 'string', `${what}: body has no string "error": ${JSON.stringify(body)}`);
  assert.ok((body.error as string).length > 0, `${what}: empty error message`);
}

function post(
  url: string,
  body: string,
  contentType = 'application/json',
  headers: Record<string, string> = {},
) {
  return fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
}

const cases: ContractCase<ServerFixture>[] = [
  {
    name: 'load + infer returns probabilities in [0, 1] and the version that answered',
    async run(fixture) {
      const { impl, artifacts } = fixture;
      await impl.load({ name: MODEL, version: 'v1', artifact: artifacts[0] });
      const response = await impl.infer(MODEL, request(fixture, 4, 'req-1'));
      assert.equal(response.model_name, MODEL);
      assert.equal(response.model_version, 'v1');
      assert.equal(response.id, 'req-1', 'the request id is echoed');
      scores(response, 4);
      const label = output(response, 'label');
      assert.deepEqual(label.shape, [4]);
      assert.equal(label.datatype, 'INT64');
      for (const v of flat(label.data)) assert.ok(v === 0 || v === 1, `label ${v} is not 0 or 1`);
    },
  },
  {
    name: 'infer with an explicit version answers from that version; outputs can be selected',
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const req = request(fixture, 5);
      const one = await impl.infer(MODEL, req, { version: 'v1' });
      const two = await impl.infer(MODEL, req, { version: 'v2' });
      assert.equal(one.model_version, 'v1');
      assert.equal(two.model_version, 'v2');
      assert.notDeepEqual(scores(one, 5), scores(two, 5), 'the two versions give different scores');
      const again = await impl.infer(MODEL, req, { version: 'v1' });
      assert.deepEqual(scores(again, 5), scores(one, 5), 'the same version gives the same scores');
      const only = await impl.infer(
        MODEL,
        { ...req, outputs: [{ name: 'probabilities' }] },
        { version: 'v2' },
      );
      assert.deepEqual(
        only.outputs.map((o) => o.name),
        ['probabilities'],
        'only the requested output is returned',
      );
    },
  },
  {
    name: 'unknown model or version is VIGIL_SERVER_UNKNOWN_MODEL',
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const req = request(fixture, 1);
      await rejectsWith(impl.infer('no-such-model', req), 'VIGIL_SERVER_UNKNOWN_MODEL', 'unknown model');
      await rejectsWith(
        impl.infer(MODEL, req, { version: 'v9' }),
        'VIGIL_SERVER_UNKNOWN_MODEL',
        'unknown version',
      );
      await rejectsWith(
        impl.unload(MODEL, 'v9'),
        'VIGIL_SERVER_UNKNOWN_MODEL',
        'unload of an unknown version',
      );
    },
  },
  {
    name: 'malformed requests are VIGIL_SERVER_INVALID_REQUEST naming the field; null is a missing value',
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const width = widthOf(fixture.artifacts[0]);
      const name = inputNameOf(fixture.artifacts[0]);
      const tensor = (shape: number[], data: unknown[], datatype = 'FP32') =>
        ({ inputs: [{ name, shape, datatype, data }] }) as InferenceRequest;
      const row = rowsOf(1, width)[0]!;
      const bad = (req: unknown, what: string) =>
        rejectsWith(
          impl.infer(MODEL, req as InferenceRequest, { version: 'v1' }),
          'VIGIL_SERVER_INVALID_REQUEST',
          what,
        );
      await bad(tensor([1, width + 1], [...row, 1]), 'wrong width');
      await bad(tensor([2, width], row), 'data shorter than the shape');
      await bad(tensor([1, width], [...row, 1]), 'data longer than the shape');
      const textual: unknown[] = [...row];
      textual[1] = 'high';
      const error = await bad(tensor([1, width], textual), 'non-numeric value');
      assert.match(error.message, /inputs\[0\]\.data\[1\]/, 'the error names inputs[0].data[1]');
      await bad(tensor([1, width], [{ v: 1 }, ...row.slice(1)]), 'object value');
      await bad(tensor([1, width], row, 'BYTES'), 'BYTES datatype');
      await bad({ inputs: [] }, 'no inputs');
      await bad({}, 'missing inputs');
      await bad(null, 'null request');
      const missing = [null, ...row.slice(1)];
      const ok = await impl.infer(MODEL, tensor([1, width], missing), { version: 'v1' });
      scores(ok, 1);
      const nested = await impl.infer(MODEL, tensor([2, width], rowsOf(2, width)), { version: 'v1' });
      const flatReq = await impl.infer(MODEL, tensor([2, width], rowsOf(2, width).flat()), { version: 'v1' });
      assert.deepEqual(scores(nested, 2), scores(flatReq, 2), 'nested and flat data give the same scores');
    },
  },
  {
    name: 'route weights split traffic 80/20 within tolerance over 2000 calls',
    requires: ['canary'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      await impl.route(MODEL, {
        candidates: [
          { version: 'v1', weight: 80 },
          { version: 'v2', weight: 20 },
        ],
      });
      const counts = await tally(impl, request(fixture, 1), 2000);
      const share = (counts.get('v2') ?? 0) / 2000;
      assert.equal((counts.get('v1') ?? 0) + (counts.get('v2') ?? 0), 2000, 'only routed versions answer');
      // σ = √(0.2·0.8/2000) ≈ 0.009: ±0.04 is more than 4σ.
      assert.ok(
        Math.abs(share - 0.2) < 0.04,
        `v2 answered ${(share * 100).toFixed(1)}% of calls, expected ~20%`,
      );
      await impl.route(MODEL, {
        candidates: [
          { version: 'v1', weight: 0 },
          { version: 'v2', weight: 3 },
        ],
      });
      const zero = await tally(impl, request(fixture, 1), 200);
      assert.equal(zero.get('v1') ?? 0, 0, 'a version with weight 0 never answers');
    },
  },
  {
    name: 'a route key pins one version (sticky), and keys spread over the candidates',
    requires: ['canary'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      await impl.route(MODEL, {
        candidates: [
          { version: 'v1', weight: 50 },
          { version: 'v2', weight: 50 },
        ],
      });
      const req = request(fixture, 1);
      const seen = new Set<string>();
      for (let k = 0; k < 24; k++) {
        const counts = await tally(impl, req, 8, () => `site-${k}`);
        assert.equal(counts.size, 1, `route key site-${k} went to ${[...counts.keys()].join(' and ')}`);
        seen.add([...counts.keys()][0]!);
      }
      assert.deepEqual([...seen].sort(), ['v1', 'v2'], '24 keys over a 50/50 route reach both versions');
    },
  },
  {
    name: 'a mirror gets a copy of the traffic but never answers',
    requires: ['shadow'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const req = request(fixture, 3);
      const direct = scores(await impl.infer(MODEL, req, { version: 'v1' }), 3);
      const spec = { candidates: [{ version: 'v1', weight: 1 }], mirror: { version: 'v2', percent: 100 } };
      await impl.route(MODEL, spec);
      assert.deepEqual(impl.getRoute(MODEL), spec, 'getRoute reflects the mirror');
      for (let i = 0; i < 50; i++) {
        const response = await impl.infer(MODEL, req);
        assert.equal(response.model_version, 'v1', 'the primary answers, not the mirror');
        assert.deepEqual(scores(response, 3), direct, 'the response is the primary’s own answer');
      }
      await rejectsWith(
        impl.unload(MODEL, 'v2'),
        'VIGIL_SERVER_INVALID_ROUTE',
        'unload of the mirror version',
      );
    },
  },
  {
    name: 'invalid routes are VIGIL_SERVER_INVALID_ROUTE and leave the route unchanged',
    requires: ['canary'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const good = { candidates: [{ version: 'v1', weight: 1 }] };
      await impl.route(MODEL, good);
      const bad = (spec: unknown, what: string) =>
        rejectsWith(impl.route(MODEL, spec as never), 'VIGIL_SERVER_INVALID_ROUTE', what);
      await bad({ candidates: [{ version: 'v3', weight: 1 }] }, 'route to an unloaded version');
      await bad(
        { candidates: [{ version: 'v1', weight: 1 }], mirror: { version: 'v3', percent: 10 } },
        'unloaded mirror',
      );
      await bad(
        { candidates: [{ version: 'v1', weight: 1 }], mirror: { version: 'v2', percent: 150 } },
        'percent 150',
      );
      await bad(
        {
          candidates: [
            { version: 'v1', weight: -1 },
            { version: 'v2', weight: 2 },
          ],
        },
        'negative weight',
      );
      await bad(
        {
          candidates: [
            { version: 'v1', weight: 0 },
            { version: 'v2', weight: 0 },
          ],
        },
        'zero weight sum',
      );
      await bad({ candidates: [] }, 'no candidates');
      await rejectsWith(
        impl.route('no-such-model', good),
        'VIGIL_SERVER_INVALID_ROUTE',
        'route of a model with nothing loaded',
      );
      assert.deepEqual(impl.getRoute(MODEL), good, 'rejected routes leave the current one in place');
      assert.equal(impl.getRoute('no-such-model'), undefined);
    },
  },
  {
    name: 'rollback restores the previous route and its traffic',
    requires: ['canary'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      await rejectsWith(impl.rollback(MODEL), 'VIGIL_SERVER_INVALID_ROUTE', 'rollback without a route');
      const stable = { candidates: [{ version: 'v1', weight: 1 }] };
      const canary = {
        candidates: [
          { version: 'v1', weight: 0 },
          { version: 'v2', weight: 1 },
        ],
      };
      await impl.route(MODEL, stable);
      await rejectsWith(impl.rollback(MODEL), 'VIGIL_SERVER_INVALID_ROUTE', 'rollback with one route');
      await impl.route(MODEL, canary);
      assert.deepEqual([...(await tally(impl, request(fixture, 1), 20)).keys()], ['v2']);
      const restored = await impl.rollback(MODEL);
      assert.deepEqual(restored, stable, 'rollback returns the previous spec');
      assert.deepEqual(impl.getRoute(MODEL), stable, 'getRoute shows the previous spec');
      assert.deepEqual(
        [...(await tally(impl, request(fixture, 1), 20)).keys()],
        ['v1'],
        'traffic follows it',
      );
    },
  },
  {
    name: 'a routed version cannot be unloaded; a free one can, and is then unknown',
    requires: ['canary'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      await impl.route(MODEL, { candidates: [{ version: 'v1', weight: 1 }] });
      await rejectsWith(
        impl.unload(MODEL, 'v1'),
        'VIGIL_SERVER_INVALID_ROUTE',
        'unload of the routed version',
      );
      await impl.unload(MODEL, 'v2');
      await rejectsWith(
        impl.infer(MODEL, request(fixture, 1), { version: 'v2' }),
        'VIGIL_SERVER_UNKNOWN_MODEL',
        'infer on an unloaded version',
      );
      await rejectsWith(
        impl.route(MODEL, { candidates: [{ version: 'v2', weight: 1 }] }),
        'VIGIL_SERVER_INVALID_ROUTE',
        'route to an unloaded version',
      );
      assert.equal((await impl.infer(MODEL, request(fixture, 1))).model_version, 'v1');
    },
  },
  {
    name: 'HTTP: health, server and model metadata, readiness',
    requires: ['http'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const { url } = await impl.listen({ port: 0 });
      assert.match(url, /^http:\/\//);
      assert.equal((await fetch(`${url}/v2/health/live`)).status, 200, 'live');
      assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200, 'ready');
      assert.equal((await fetch(`${url}/v2`)).status, 200, 'server metadata');
      const meta = await fetch(`${url}/v2/models/${MODEL}`);
      assert.equal(meta.status, 200, 'model metadata');
      const body = await json(meta);
      assert.equal(body.name, MODEL);
      assert.ok(Array.isArray(body.versions) && body.versions.includes('v1') && body.versions.includes('v2'));
      const inputs = body.inputs as { name: string }[];
      assert.equal(inputs[0]?.name, inputNameOf(fixture.artifacts[0]), 'metadata names the input');
      const outputs = (body.outputs as { name: string }[]).map((o) => o.name);
      assert.ok(outputs.includes('probabilities'), 'metadata names the outputs');
      assert.equal((await fetch(`${url}/v2/models/${MODEL}/versions/v2`)).status, 200, 'version metadata');
      assert.equal((await fetch(`${url}/v2/models/${MODEL}/ready`)).status, 200, 'model ready');
      assert.equal((await fetch(`${url}/v2/models/${MODEL}/versions/v1/ready`)).status, 200, 'version ready');
      await assertJsonError(await fetch(`${url}/v2/models/nope`), 404, 'metadata of an unknown model');
      await assertJsonError(await fetch(`${url}/v2/models/nope/ready`), 404, 'readiness of an unknown model');
    },
  },
  {
    name: 'HTTP: infer answers like the in-process API, with x-seldon-route naming and pinning the version',
    requires: ['http'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const { url } = await impl.listen({ port: 0 });
      const req = request(fixture, 2, 'http-1');
      const direct = scores(await impl.infer(MODEL, req, { version: 'v2' }), 2);
      const versioned = await post(`${url}/v2/models/${MODEL}/versions/v2/infer`, JSON.stringify(req));
      assert.equal(versioned.status, 200, 'versioned infer');
      assert.equal(versioned.headers.get('x-seldon-route'), 'v2', 'x-seldon-route names the version');
      const body = (await json(versioned)) as unknown as InferenceResponse;
      assert.equal(body.model_name, MODEL);
      assert.equal(body.model_version, 'v2');
      assert.equal(body.id, 'http-1');
      assert.deepEqual(
        scores(body, 2).map((p) => p.toFixed(5)),
        direct.map((p) => p.toFixed(5)),
      );
      await impl.route(MODEL, {
        candidates: [
          { version: 'v1', weight: 50 },
          { version: 'v2', weight: 50 },
        ],
      });
      for (let i = 0; i < 20; i++) {
        const pinned = await post(
          `${url}/v2/models/${MODEL}/infer`,
          JSON.stringify(req),
          'application/json',
          {
            'x-seldon-route': 'v2',
          },
        );
        assert.equal(pinned.status, 200);
        assert.equal(pinned.headers.get('x-seldon-route'), 'v2', 'x-seldon-route in the request pins v2');
        assert.equal(((await pinned.json()) as InferenceResponse).model_version, 'v2');
      }
    },
  },
  {
    name: 'HTTP: errors are JSON {"error"} with 400 or 404, never 500, and the server keeps answering',
    requires: ['http'],
    async run(fixture) {
      const impl = await loadBoth(fixture);
      const { url } = await impl.listen({ port: 0 });
      const infer = `${url}/v2/models/${MODEL}/infer`;
      const width = widthOf(fixture.artifacts[0]);
      await assertJsonError(
        await post(`${url}/v2/models/nope/infer`, JSON.stringify(request(fixture, 1))),
        404,
        'unknown model',
      );
      await assertJsonError(
        await post(`${url}/v2/models/${MODEL}/versions/v9/infer`, JSON.stringify(request(fixture, 1))),
        404,
        'unknown version',
      );
      await assertJsonError(await post(infer, '{"inputs": [ {'), 400, 'malformed JSON');
      await assertJsonError(await post(infer, '{}'), 400, 'no inputs');
      const wrong = {
        inputs: [
          { name: inputNameOf(fixture.artifacts[0]), shape: [1, width], datatype: 'FP32', data: ['x'] },
        ],
      };
      await assertJsonError(await post(infer, JSON.stringify(wrong)), 400, 'wrong data');
      const other = await post(infer, 'hello', 'application/x-garbage');
      assert.ok(other.status >= 400 && other.status < 500, `unsupported content type got ${other.status}`);
      const after = await post(infer, JSON.stringify(request(fixture, 1)));
      assert.equal(after.status, 200, 'the server still answers after bad requests');
    },
  },
];

export const serverContract: Contract<ServerFixture> = { port: 'server', cases };
