import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeTrainer, quantizationOf, risingSequenceSet } from '@vigil/adapter-node-trainer';
import {
  auroc,
  isVigilError,
  MODEL_SIGNATURE,
  type ModelArtifact,
  type Registry,
  toSequences,
  versionArtifact,
} from '@vigil/core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCliKernel } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { resolveConfig } from '../load-config.js';
import { modelsQuantizeCommand, QUANTIZED_TAG, type QuantizeVersionResult } from './models-quantize.js';

/** The node trainer's TCN task: 12 time-ordered rows of 3 features per patient. */
const sequenceSet = (seed: number, patients: number) => risingSequenceSet(seed, patients, 12);

const L = 6;
const MODEL = 'quantize-test';
let workdir: string;
let tcn: ModelArtifact;

async function withRegistry<T>(work: (registry: Registry) => Promise<T>): Promise<T> {
  const components = createDefaultRegistry();
  const config = await resolveConfig(components, undefined, { preset: 'local', workdir });
  const kernel = createCliKernel(components, config);
  try {
    await kernel.start({ ports: ['registry'] });
    return await work(kernel.port('registry'));
  } finally {
    await kernel.close();
  }
}
async function cli(version: string, options: Record<string, unknown>): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  try {
    const code = await modelsQuantizeCommand(version, {
      preset: 'local',
      workdir,
      model: MODEL,
      runs: '100',
      ...options,
    });
    expect(code).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

describe('vigil models quantize', () => {
  const test = sequenceSet(3, 30);
  const x = toSequences(test, L);
  let rowsFile: string;
  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'vigil-quantize-'));
    const params = { sequenceLength: L, blocks: 2, hidden: 8, kernelSize: 3, maxEpochs: 4, batchSize: 64 };
    tcn = (
      await new NodeTrainer().train(
        sequenceSet(1, 60),
        { algorithm: 'tcn', params, seed: 3 },
        { validation: sequenceSet(2, 20) },
      )
    ).artifact;
    // A version as the train step registers it: the ONNX bytes and the signature in its run.
    await withRegistry(async (registry) => {
      const run = await registry.createRun({ experiment: 'quantize-test' });
      await registry.logArtifact(run.runId, 'model/model.onnx', tcn.bytes);
      const { bytes, sha256, ...signature } = tcn;
      await registry.logArtifact(
        run.runId,
        MODEL_SIGNATURE,
        new TextEncoder().encode(JSON.stringify(signature)),
      );
      await registry.endRun(run.runId, 'FINISHED');
      await registry.createRegisteredModel(MODEL);
      await registry.createModelVersion({
        name: MODEL,
        runId: run.runId,
        source: 'model/model.onnx',
        tags: { sha256, lakeCommit: 'c1' },
      });
      await registry.setAlias(MODEL, 'champion', '1');
    });
    rowsFile = join(workdir, 'rows.json');
    const width = L * 3;
    const inputs = Array.from({ length: test.y.length }, (_, r) =>
      Array.from(x.subarray(r * width, (r + 1) * width), (v) => (Number.isNaN(v) ? null : v)),
    );
    await writeFile(rowsFile, JSON.stringify({ inputs, labels: Array.from(test.y) }));
  }, 120_000);
  afterAll(() => rm(workdir, { recursive: true, force: true }));

  it('registers the int8 variant as a new version (same run, tags with the measurements) and reports the AUROC cost on the rows given', async () => {
    const result = JSON.parse(await cli('1', { rows: rowsFile, json: true })) as QuantizeVersionResult;
    expect(result).toMatchObject({ model: MODEL, from: '1', version: '2', format: 'qdq', rows: rowsFile });
    expect(result.quantized.map((n) => n.op).sort()).toEqual([
      'Conv',
      'Conv',
      'Conv',
      'Conv',
      'Conv',
      'MatMul',
    ]);
    // The AUROC it reports is the AUROC of each model on those rows, computed here independently.
    const session = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes);
      const out = await s.run({ input: new ort.Tensor('float32', x, [test.y.length, L * 3]) });
      await s.release();
      const p = out.probabilities!.data as Float32Array;
      return Float64Array.from({ length: test.y.length }, (_, r) => p[2 * r + 1]!);
    };
    const [registered, floatAgain, tags] = await withRegistry(async (registry) => {
      const v = await registry.getModelVersion(MODEL, '2');
      const champion = await registry.getVersionByAlias(MODEL, 'champion');
      expect(champion.version).toBe('1'); // aliases are not moved
      return [
        await versionArtifact(registry, MODEL, '2'),
        await versionArtifact(registry, MODEL, '1'),
        v.tags,
      ] as const;
    });
    expect(quantizationOf(registered.bytes)?.format).toBe('qdq');
    expect(quantizationOf(floatAgain.bytes)).toBeUndefined();
    expect(registered.inputs).toEqual(tcn.inputs);
    expect(tags).toMatchObject({
      sha256: registered.sha256,
      lakeCommit: 'c1',
      [QUANTIZED_TAG.from]: '1',
      [QUANTIZED_TAG.format]: 'qdq',
    });
    const floatAuroc = auroc(await session(tcn.bytes), test.y)!;
    const int8Auroc = auroc(await session(registered.bytes), test.y)!;
    expect(result.check.auroc!.float).toBeCloseTo(floatAuroc, 12);
    expect(result.check.auroc!.int8).toBeCloseTo(int8Auroc, 12);
    expect(Number(tags[QUANTIZED_TAG.aurocCost])).toBeCloseTo(floatAuroc - int8Auroc, 6);
    expect(result.check.singleRow.speedupP50).toBeGreaterThan(0);
  }, 120_000);

  it('prints the cost and speed-up; without rows, times on synthetic rows and says there is no AUROC', async () => {
    const text = await cli('1', { format: 'integer', register: false, out: join(workdir, 'int8.onnx') });
    expect(text).toMatch(/v1 → int8 \(integer\) \(not registered\)/);
    expect(text).toMatch(/quantised: 5 Conv, 1 MatMul/);
    expect(text).toMatch(/AUROC: n\/a \(pass --rows FILE/);
    expect(text).toMatch(/single row \(100 calls each, alternating\): p50 .*×\), p99/);
    expect(text).toMatch(/batch of 256: \d+ → \d+ rows\/s \([\d.]+×\)/);
    expect(quantizationOf(new Uint8Array(await readFile(join(workdir, 'int8.onnx'))))?.format).toBe(
      'integer',
    );
    const versions = await withRegistry((registry) => registry.searchModelVersions(MODEL));
    expect(versions).toHaveLength(2); // --no-register registered nothing
  }, 120_000);

  it('refuses rows of the wrong width and an unknown format, naming the field', async () => {
    const bad = join(workdir, 'bad.json');
    await writeFile(bad, JSON.stringify({ inputs: [[1, 2, 3]], labels: [1] }));
    const message = async (options: Record<string, unknown>) => {
      try {
        await cli('1', options);
      } catch (error) {
        return isVigilError(error) ? `${error.code}: ${error.message}` : String(error);
      }
      return 'accepted';
    };
    expect(await message({ rows: bad })).toBe(
      `VIGIL_CONFIG_INVALID: --rows ${bad}: inputs[0] must hold 18 values (the model's input width), got 3`,
    );
    expect(await message({ format: 'int4' })).toBe(
      "VIGIL_CONFIG_INVALID: --format: expected qdq or integer, got 'int4'",
    );
  });
});
