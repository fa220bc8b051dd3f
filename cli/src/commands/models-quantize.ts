import { readFile, writeFile } from 'node:fs/promises';
import {
  checkQuantized,
  type OrtLike,
  type QuantizationCheck,
  type QuantizationFormat,
  quantizeArtifact,
} from '@vigil/adapter-node-trainer';
import { createRng, type ModelArtifact, type Registry, VigilError, versionArtifact } from '@vigil/core';
import { createCliKernel, modelName } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';

export interface ModelsQuantizeOptions extends ConfigOverrides {
  config?: string;
  model?: string;
  json?: boolean;
  /** JSON file `{ "inputs": [[…], …], "labels": [0, 1, …] }`: held-out rows to measure on. */
  rows?: string;
  format?: string;
  /** Single-row calls per model for the latency (default 2000). */
  runs?: string;
  /** Commander's `--no-register`: false when given. */
  register?: boolean;
  /** Also write the int8 ONNX bytes here. */
  out?: string;
}

/** Version tags the int8 variant carries (also readable with `vigil models show`). */
export const QUANTIZED_TAG = {
  from: 'vigil.quantized.from',
  format: 'vigil.quantized.format',
  aurocCost: 'vigil.quantized.aurocCost',
  rows: 'vigil.quantized.rows',
  speedupP50: 'vigil.quantized.speedupP50',
  speedupBatch: 'vigil.quantized.speedupBatch',
  bytes: 'vigil.quantized.bytes',
} as const;

const invalid = (message: string) => new VigilError('VIGIL_CONFIG_INVALID', message);

/** Model inputs of the rows file, checked against the model's input width. */
async function readRows(
  file: string,
  width: number,
): Promise<{ x: Float32Array; rows: number; labels?: Uint8Array }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw invalid(`--rows ${file}: not readable JSON (${(error as Error).message})`);
  }
  const { inputs, labels } = (parsed ?? {}) as { inputs?: unknown; labels?: unknown };
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw invalid(
      `--rows ${file}: inputs must be a non-empty array of rows of ${width} numbers (null = missing)`,
    );
  const x = new Float32Array(inputs.length * width);
  inputs.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== width)
      throw invalid(
        `--rows ${file}: inputs[${r}] must hold ${width} values (the model's input width), got ${Array.isArray(row) ? row.length : typeof row}`,
      );
    row.forEach((v, c) => {
      if (v !== null && typeof v !== 'number')
        throw invalid(
          `--rows ${file}: inputs[${r}][${c}] must be a number or null, got ${JSON.stringify(v)}`,
        );
      x[r * width + c] = v === null ? Number.NaN : v;
    });
  });
  if (labels === undefined) return { x, rows: inputs.length };
  if (!Array.isArray(labels) || labels.length !== inputs.length)
    throw invalid(`--rows ${file}: labels must hold one 0/1 per row (${inputs.length})`);
  const y = new Uint8Array(labels.length);
  labels.forEach((v, i) => {
    if (v !== 0 && v !== 1)
      throw invalid(`--rows ${file}: labels[${i}] must be 0 or 1, got ${JSON.stringify(v)}`);
    y[i] = v;
  });
  return { x, rows: inputs.length, labels: y };
}

/** Without rows: 256 seeded standard-normal rows, enough to time the models (no AUROC). */
function timingRows(width: number): { x: Float32Array; rows: number } {
  const rng = createRng(0);
  const rows = 256;
  return { x: Float32Array.from({ length: rows * width }, () => rng.normal()), rows };
}

export interface QuantizeVersionResult {
  model: string;
  from: string;
  /** The registered int8 version; null with `register: false`. */
  version: string | null;
  format: QuantizationFormat;
  quantized: { op: string; node: string; weights: number }[];
  keptFloat: Record<string, number>;
  /** Where the measurement rows came from. */
  rows: string;
  check: QuantizationCheck;
}

/**
 * Quantise a registered version to int8, measure it against the float version in onnxruntime
 * (AUROC on the given labelled rows, alternating single-row and batch latency) and register the
 * int8 model as a new version of the same model, in the same training run (so it shares the
 * float version's signature, fallback model and evaluation). Aliases are not moved: promote it
 * (or canary it) like any other version.
 */
export async function quantizeVersion(
  registry: Registry,
  ort: OrtLike,
  name: string,
  version: string,
  options: {
    format?: QuantizationFormat;
    rows?: { x: Float32Array; rows: number; labels?: Uint8Array; source: string };
    runs?: number;
    register?: boolean;
  } = {},
): Promise<{ result: QuantizeVersionResult; artifact: ModelArtifact }> {
  const format = options.format ?? 'qdq';
  const float = await versionArtifact(registry, name, version);
  const { artifact, record } = quantizeArtifact(float, { format });
  const width = float.inputs[0]?.shape[1] ?? float.featureNames.length;
  const measured = options.rows ?? { ...timingRows(width), source: 'synthetic (no --rows: no AUROC)' };
  if (measured.x.length !== measured.rows * width)
    throw invalid(`rows: ${measured.x.length / measured.rows} values per row, the model reads ${width}`);
  const check = await checkQuantized(ort, float, artifact, {
    x: measured.x,
    rows: measured.rows,
    ...(measured.labels ? { labels: measured.labels } : {}),
    ...(options.runs ? { singleRowRuns: options.runs } : {}),
  });
  let registered: string | null = null;
  if (options.register !== false) {
    const v = await registry.getModelVersion(name, version);
    const source = `model/model.int8-${format}.onnx`;
    await registry.logArtifact(v.runId, source, artifact.bytes);
    const created = await registry.createModelVersion({
      name,
      runId: v.runId,
      source,
      description: `int8 (${format}) of v${version}`,
      tags: {
        ...(v.tags.lakeCommit ? { lakeCommit: v.tags.lakeCommit } : {}),
        sha256: artifact.sha256,
        [QUANTIZED_TAG.from]: version,
        [QUANTIZED_TAG.format]: format,
        [QUANTIZED_TAG.rows]: measured.source,
        [QUANTIZED_TAG.speedupP50]: check.singleRow.speedupP50.toFixed(3),
        [QUANTIZED_TAG.speedupBatch]: check.batch.speedup.toFixed(3),
        [QUANTIZED_TAG.bytes]: String(artifact.bytes.length),
        ...(check.auroc ? { [QUANTIZED_TAG.aurocCost]: check.auroc.cost.toFixed(6) } : {}),
      },
    });
    registered = created.version;
  }
  return {
    artifact,
    result: {
      model: name,
      from: version,
      version: registered,
      format,
      quantized: record.nodes.map((n) => ({ op: n.op, node: n.node, weights: n.weights })),
      keptFloat: record.keptFloat,
      rows: measured.source,
      check,
    },
  };
}

const FORMATS: readonly QuantizationFormat[] = ['qdq', 'integer'];

/** `vigil models quantize VERSION [--rows FILE] [--format qdq|integer] [--no-register] [--out FILE]`. */
export async function modelsQuantizeCommand(
  version: string,
  options: ModelsQuantizeOptions,
): Promise<number> {
  const format = (options.format ?? 'qdq') as QuantizationFormat;
  if (!FORMATS.includes(format)) throw invalid(`--format: expected qdq or integer, got '${options.format}'`);
  const runs = options.runs === undefined ? undefined : Number(options.runs);
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0))
    throw invalid(`--runs: expected a positive integer, got '${options.runs}'`);
  const components = createDefaultRegistry();
  const config = await resolveConfig(components, options.config, options);
  const name = modelName(components, config, options.model);
  const kernel = createCliKernel(components, config);
  const ort = (await import('onnxruntime-node')) as unknown as OrtLike;
  try {
    await kernel.start({ ports: ['registry'] });
    const registry = kernel.port('registry');
    let rows: { x: Float32Array; rows: number; labels?: Uint8Array; source: string } | undefined;
    if (options.rows) {
      const float = await versionArtifact(registry, name, version);
      const width = float.inputs[0]?.shape[1] ?? float.featureNames.length;
      rows = { ...(await readRows(options.rows, width)), source: options.rows };
    }
    const { result, artifact } = await quantizeVersion(registry, ort, name, version, {
      format,
      ...(rows ? { rows } : {}),
      ...(runs ? { runs } : {}),
      register: options.register !== false,
    });
    if (options.out) await writeFile(options.out, artifact.bytes);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    }
    const c = result.check;
    const ms = (v: number) => `${(v * 1000).toFixed(1)} µs`;
    const counts: Record<string, number> = {};
    for (const n of result.quantized) counts[n.op] = (counts[n.op] ?? 0) + 1;
    const ops = Object.entries(counts)
      .map(([op, n]) => `${n} ${op}`)
      .join(', ');
    const kept = Object.entries(result.keptFloat)
      .map(([op, n]) => `${n} ${op}`)
      .join(', ');
    process.stdout.write(
      [
        `${name} v${version} → int8 (${format})${result.version ? `, registered as v${result.version}` : ' (not registered)'}`,
        `  quantised: ${ops}${kept ? `; kept float: ${kept} (no int8 kernel)` : ''}`,
        `  size: ${c.bytes.float} → ${c.bytes.int8} bytes (${c.bytes.ratio.toFixed(2)}× smaller)`,
        `  rows: ${c.rows} from ${result.rows}`,
        c.auroc
          ? `  AUROC: float ${c.auroc.float.toFixed(4)}, int8 ${c.auroc.int8.toFixed(4)}, cost (float − int8) ${c.auroc.cost.toFixed(4)}`
          : '  AUROC: n/a (pass --rows FILE with labels; runs do not store their test rows)',
        `  |Δp|: max ${c.maxAbsDiff.toExponential(2)}, mean ${c.meanAbsDiff.toExponential(2)}`,
        `  single row (${c.singleRow.runs} calls each, alternating): p50 ${ms(c.singleRow.float.p50Ms)} → ${ms(c.singleRow.int8.p50Ms)} (${c.singleRow.speedupP50.toFixed(2)}×), p99 ${ms(c.singleRow.float.p99Ms)} → ${ms(c.singleRow.int8.p99Ms)} (${c.singleRow.speedupP99.toFixed(2)}×)`,
        `  batch of ${c.batch.rows}: ${c.batch.floatRowsPerSec.toFixed(0)} → ${c.batch.int8RowsPerSec.toFixed(0)} rows/s (${c.batch.speedup.toFixed(2)}×)`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await kernel.close();
  }
}
