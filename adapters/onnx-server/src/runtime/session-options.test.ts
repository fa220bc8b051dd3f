import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeOnnxModel } from '@vigil/adapter-node-trainer';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { onnxServer, onnxServerOptions } from '../adapter.js';
import { OnnxServer } from '../onnx-server.js';
import { capturingLogger, modelV1 } from '../testing/fixtures.js';
import type { OrtModule, OrtSessionOptions } from './ort.js';

const dir = await mkdtemp(join(tmpdir(), 'vigil-ort-opt-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/**
 * The real onnxruntime, except that every session also writes the graph as onnxruntime
 * optimised it, so the test reads what the level did rather than what the server asked for.
 */
function observingOrt(): { ort: OrtModule; seen: { options: OrtSessionOptions; file: string }[] } {
  const seen: { options: OrtSessionOptions; file: string }[] = [];
  const real = ort as unknown as OrtModule;
  return {
    seen,
    ort: {
      Tensor: real.Tensor,
      InferenceSession: {
        create(buffer, options = {}) {
          const file = join(dir, `session-${seen.length}.onnx`);
          seen.push({ options, file });
          return real.InferenceSession.create(buffer, { ...options, optimizedModelFilePath: file });
        },
      },
    },
  };
}

/** The server built from config as `onnxServer.create` builds it (`onnxServerOptions`), over the observing runtime. */
async function serverWith(config: Record<string, unknown>) {
  const observed = observingOrt();
  const server = new OnnxServer(
    observed.ort,
    onnxServerOptions(onnxServer.config.parse(config), { seed: 1, emit: async () => undefined }),
    capturingLogger().logger,
  );
  await server.load({ name: 'm', version: '1', artifact: modelV1 });
  await server.close();
  return observed.seen;
}

describe('onnxruntime session options from config', () => {
  // The logistic graph: MatMul + Add + Sigmoid. Level 1 (basic) fuses MatMul+Add into Gemm;
  // level 2 (extended) fuses Gemm+Sigmoid into FusedGemm; 'disabled' leaves the graph as written.
  const expected = {
    disabled: { has: 'MatMul', lacks: 'Gemm' },
    basic: { has: 'Gemm', lacks: 'FusedGemm' },
    extended: { has: 'FusedGemm', lacks: 'MatMul' },
    all: { has: 'FusedGemm', lacks: 'MatMul' },
  } as const;
  for (const [level, { has, lacks }] of Object.entries(expected)) {
    it(`graphOptimizationLevel '${level}' reaches onnxruntime (the optimised graph has ${has}, not ${lacks})`, async () => {
      const seen = await serverWith({ graphOptimizationLevel: level });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.options.graphOptimizationLevel).toBe(level);
      const ops = decodeOnnxModel(await readFile(seen[0]!.file)).nodes.map((n) => n.opType);
      expect(ops).toContain(has);
      expect(ops).not.toContain(lacks);
    });
  }

  it("defaults to 'all', sequential, one thread each; executionMode and threads pass through", async () => {
    const [defaults] = await serverWith({});
    expect(defaults!.options).toMatchObject({
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    const [custom] = await serverWith({ executionMode: 'parallel', intraOpThreads: 2, interOpThreads: 3 });
    expect(custom!.options).toMatchObject({
      executionMode: 'parallel',
      intraOpNumThreads: 2,
      interOpNumThreads: 3,
    });
  });

  it('a level onnxruntime does not know is refused by the config, naming the field', () => {
    const issues = onnxServer.config.safeParse({ graphOptimizationLevel: 'max' }).error?.issues ?? [];
    expect(issues.map((i) => i.path.join('.'))).toEqual(['graphOptimizationLevel']);
  });
});
