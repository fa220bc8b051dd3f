import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import type { InferenceResponse } from '@vigil/core';
import {
  createTestContext,
  ensureTritonclient,
  runTritonclient,
  type TestContext,
  TRITONCLIENT_VERSION,
} from '@vigil/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OnnxServer, onnxServer } from '../index.js';

/**
 * NVIDIA's tritonclient[http] (pinned) calls our server unchanged: binary inputs (the
 * binary data extension, no Content-Type), JSON inputs, binary outputs requested.
 */
const featureNames = ['a', 'b', 'c', 'd'];
const x = Array.from({ length: 5 }, (_, r) => [r / 10 - 0.2, 1 - r / 7, (r % 3) - 1, r % 2 === 0 ? 0.5 : -2]);

const script = `
import json, sys
import numpy as np
import tritonclient.http as httpclient
from importlib.metadata import version

p = json.load(open(sys.argv[1]))
client = httpclient.InferenceServerClient(url=p["url"])
x = np.asarray(p["x"], dtype=np.float32)
out = {"client": version("tritonclient")}
out["live"] = client.is_server_live()
out["ready"] = client.is_model_ready(p["model"])
out["metadata"] = client.get_model_metadata(p["model"])

def call(binary_in, outputs, dtype="FP32"):
    inp = httpclient.InferInput("input", list(x.shape), dtype)
    inp.set_data_from_numpy(x.astype(np.float64) if dtype == "FP64" else x, binary_data=binary_in)
    result = client.infer(p["model"], [inp], outputs=outputs)
    response = result.get_response()
    probs = result.as_numpy("probabilities")
    return {"probabilities": probs.astype(np.float64).tolist(), "version": response.get("model_version"),
            "outputs": [o["name"] for o in response["outputs"]]}

named = lambda: [httpclient.InferRequestedOutput("probabilities", binary_data=False)]
out["binary_named"] = call(True, named())
out["json_named"] = call(False, named())
out["binary_all"] = call(True, None)
out["json_all"] = call(False, None)
out["binary_fp64"] = call(True, named(), "FP64")
out["binary_out_requested"] = call(True, [httpclient.InferRequestedOutput("probabilities", binary_data=True)])
print(json.dumps(out))
`;

interface Call {
  probabilities: number[][];
  version: string;
  outputs: string[];
}

let skipReason: string | undefined;
let ctx: TestContext;
let server: OnnxServer;
let url: string;

beforeAll(async () => {
  skipReason = await ensureTritonclient();
  if (skipReason) return;
  ctx = await createTestContext();
  server = (await onnxServer.create(onnxServer.config.parse({}), ctx)) as OnnxServer;
  await server.load({
    name: 'churn',
    version: '3',
    artifact: logisticRegressionOnnx({ weights: [0.8, -0.4, 1.2, 0.3], bias: -0.2, featureNames }),
  });
  ({ url } = await server.listen({}));
}, 600_000);
afterAll(async () => {
  if (skipReason) return;
  await server.close();
  await ctx.cleanup();
});

describe(`tritonclient[http]==${TRITONCLIENT_VERSION} against the server`, () => {
  it('is live, ready, reads metadata and gets our probabilities for binary and JSON inputs', async (test) => {
    if (skipReason) {
      console.warn(`SKIPPED tritonclient interop: ${skipReason}`);
      test.skip(skipReason);
      return;
    }
    const expected = (await server.infer('churn', {
      inputs: [{ name: 'input', shape: [x.length, 4], datatype: 'FP32', data: x }],
      outputs: [{ name: 'probabilities' }],
    })) as InferenceResponse;
    const probs = expected.outputs[0]!.data as number[];
    const out = await runTritonclient<Record<string, unknown>>(script, {
      url: url.replace('http://', ''),
      model: 'churn',
      x,
    });
    expect(out.client).toBe(TRITONCLIENT_VERSION);
    expect(out.live).toBe(true);
    expect(out.ready).toBe(true);
    expect(out.metadata).toMatchObject({ name: 'churn', versions: ['3'], platform: 'onnxruntime' });
    for (const key of [
      'binary_named',
      'json_named',
      'binary_all',
      'json_all',
      'binary_fp64',
      'binary_out_requested',
    ]) {
      const call = out[key] as Call;
      expect(call.version, key).toBe('3');
      expect(call.probabilities.flat().length, key).toBe(probs.length);
      call.probabilities.flat().forEach((p, i) => {
        expect(Math.abs(p - probs[i]!), `${key}[${i}]`).toBeLessThanOrEqual(1e-6);
      });
      if (key.endsWith('_all')) expect(call.outputs.length, key).toBeGreaterThan(1);
      else expect(call.outputs, key).toEqual(['probabilities']);
    }
  }, 600_000);
});
