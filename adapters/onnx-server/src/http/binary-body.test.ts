import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import type { InferenceResponse } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OnnxServer, onnxServer } from '../index.js';

/** The binary data extension of the Open Inference Protocol, on the wire. */
const featureNames = ['a', 'b', 'c'];
const x = [
  [0.5, -1, 2],
  [0, 0.25, -0.75],
];

let ctx: TestContext;
let server: OnnxServer;
let url: string;
let expected: number[];

beforeAll(async () => {
  ctx = await createTestContext();
  server = (await onnxServer.create(
    onnxServer.config.parse({ bodyLimitBytes: 64 * 1024 }),
    ctx,
  )) as OnnxServer;
  await server.load({
    name: 'ae',
    version: 'v1',
    artifact: logisticRegressionOnnx({ weights: [1, 2, 3], bias: 0.1, featureNames }),
  });
  ({ url } = await server.listen({}));
  const answer = (await server.infer('ae', {
    inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP32', data: x }],
  })) as InferenceResponse;
  expected = answer.outputs.find((o) => o.name === 'probabilities')!.data as number[];
});
afterAll(async () => {
  await server.close();
  await ctx.cleanup();
});

function binaryBody(header: unknown, tensor: ArrayBufferView): { body: Uint8Array; headerLength: number } {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(tensor.buffer, tensor.byteOffset, tensor.byteLength);
  const body = new Uint8Array(json.length + bytes.length);
  body.set(json, 0);
  body.set(bytes, json.length);
  return { body, headerLength: json.length };
}

const fp32Header = (size = 24, datatype = 'FP32', shape = [2, 3]) => ({
  inputs: [{ name: 'input', shape, datatype, parameters: { binary_data_size: size } }],
  parameters: { binary_data_output: true },
});
const fp32 = () => binaryBody(fp32Header(), new Float32Array(x.flat()));

const post = (body: Uint8Array | string, headers: Record<string, string>) =>
  fetch(`${url}/v2/models/ae/infer`, { method: 'POST', headers, body });

async function probabilities(response: Response): Promise<number[]> {
  expect(response.status, await response.clone().text()).toBe(200);
  const json = (await response.json()) as InferenceResponse;
  return json.outputs.find((o) => o.name === 'probabilities')!.data as number[];
}

describe('binary data extension', () => {
  it('decodes FP32 and FP64 little-endian row-major inputs, with no or octet-stream content type', async () => {
    const { body, headerLength } = fp32();
    const h = { 'inference-header-content-length': String(headerLength) };
    expect(await probabilities(await post(body, h))).toEqual(expected);
    expect(
      await probabilities(await post(body, { ...h, 'content-type': 'application/octet-stream' })),
    ).toEqual(expected);
    const fp64 = binaryBody(fp32Header(48, 'FP64'), new Float64Array(x.flat()));
    const got = await probabilities(
      await post(fp64.body, { 'inference-header-content-length': String(fp64.headerLength) }),
    );
    for (const [i, p] of got.entries()) expect(Math.abs(p - expected[i]!)).toBeLessThan(1e-6);
  });

  it('takes a plain JSON body without content type or as application/octet-stream', async () => {
    // A Uint8Array body: fetch adds no content type (a string would get text/plain).
    const json = new TextEncoder().encode(
      JSON.stringify({ inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP32', data: x }] }),
    );
    expect(await probabilities(await post(json, {}))).toEqual(expected);
    expect(await probabilities(await post(json, { 'content-type': 'application/octet-stream' }))).toEqual(
      expected,
    );
    // Unchanged: fastify's own text/plain parser yields a string (400); other types stay 415.
    expect((await post(json, { 'content-type': 'text/plain' })).status).toBe(400);
    expect((await post(json, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
  });

  it('answers size mismatches with a 400 naming the field', async () => {
    const cases: [Uint8Array, number, RegExp][] = [];
    const short = binaryBody(fp32Header(20), new Float32Array(x.flat()).subarray(0, 5));
    cases.push([
      short.body,
      short.headerLength,
      /inputs\[0\]\.parameters\.binary_data_size: 20 bytes.*needs 24/,
    ]);
    const truncated = fp32();
    cases.push([
      truncated.body.subarray(0, truncated.body.length - 4),
      truncated.headerLength,
      /inputs\[0\]\.parameters\.binary_data_size: 24 bytes from offset 0, but only 20 bytes/,
    ]);
    const extra = binaryBody(fp32Header(), new Float32Array([...x.flat(), 9]));
    cases.push([extra.body, extra.headerLength, /4 bytes of binary data .* not claimed/]);
    const int = binaryBody(fp32Header(24, 'INT32'), new Int32Array(6));
    cases.push([int.body, int.headerLength, /inputs\[0\]\.datatype: binary data is accepted for FP32, FP64/]);
    const whole = fp32();
    cases.push([
      whole.body,
      whole.body.length + 1,
      /Inference-Header-Content-Length: \d+ bytes of JSON header/,
    ]);
    for (const [body, headerLength, message] of cases) {
      const response = await post(body, { 'inference-header-content-length': String(headerLength) });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(message);
    }
    const bad = await post(fp32().body, { 'inference-header-content-length': 'abc' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^Inference-Header-Content-Length/);
  });

  it('answers a few hundred random and truncated bodies with 4xx only, and keeps serving', async () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const good = fp32();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      let body: Uint8Array;
      let headerLength: string | undefined;
      const kind = i % 4;
      if (kind === 0) {
        body = good.body.subarray(0, Math.floor(rand() * good.body.length));
        headerLength = String(good.headerLength);
      } else if (kind === 1) {
        body = Uint8Array.from(good.body);
        for (let k = 0; k < 4; k++) body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
        headerLength = String(Math.floor(rand() * (body.length + 8)));
      } else if (kind === 2) {
        body = Uint8Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256));
        headerLength = rand() < 0.5 ? undefined : String(Math.floor(rand() * 220));
      } else {
        const header = fp32Header(
          [0, 24, 25, -1, 1e20, 2 ** 53][Math.floor(rand() * 6)],
          ['FP32', 'FP64', 'BYTES', 'FP32'][Math.floor(rand() * 4)],
          [[2, 3], [1e9, 1e9], [-1, 3], [2, 3, 1], []][Math.floor(rand() * 5)],
        );
        ({ body } = binaryBody(header, new Float32Array(Math.floor(rand() * 10))));
        headerLength = String(JSON.stringify(header).length);
      }
      const headers: Record<string, string> = {};
      if (headerLength !== undefined) headers['inference-header-content-length'] = headerLength;
      if (rand() < 0.3) headers['content-type'] = 'application/octet-stream';
      const response = await post(body, headers);
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status >= 200 && response.status < 300) continue; // a corrupted byte may still decode
      expect(response.status, `body ${i}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `body ${i}`).toBeLessThan(500);
    }
    expect([...statuses.keys()].every((s) => s === 200 || (s >= 400 && s < 500))).toBe(true);
    expect(
      await probabilities(
        await post(good.body, { 'inference-header-content-length': String(good.headerLength) }),
      ),
    ).toEqual(expected);
  });
});
