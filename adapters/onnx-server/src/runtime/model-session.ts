import { createHash } from 'node:crypto';
import type { LoadedModel, TensorSpec } from '@vigil/core';
import { VigilError } from '@vigil/core';
import type { InputSignature } from '../protocol/parse-request.js';
import { scoreOutputOf } from '../protocol/scores.js';
import { LatencyRing } from '../stats/latency-ring.js';
import { checkSignature } from './check-signature.js';
import type { OrtModule, OrtSession, OrtSessionOptions, OrtTensor } from './ort.js';
import { RunBatcher } from './run-batcher.js';

/**
 * One loaded model version: an onnxruntime session checked against the artifact's
 * declared tensors. Vigil models take one FP32 input `[-1, d]`; `width` is `d`.
 */
export class ModelSession implements InputSignature {
  readonly name: string;
  readonly version: string;
  readonly input: TensorSpec;
  readonly inputName: string;
  readonly outputs: readonly TensorSpec[];
  readonly outputNames: readonly string[];
  readonly width: number;
  /** The model as loaded (entity resolvers read features for it). */
  readonly model: LoadedModel;
  /** The output that holds P(positive) (see `scoreOutputOf`), if any. */
  readonly scoreOutput: string | undefined;
  /** Requests this version answered (primary traffic). */
  served = 0;
  /** Mirror copies this version received, and how many of them failed. */
  mirrored = 0;
  mirrorFailures = 0;
  /** Requests routed here that failed or were answered by the fallback; `fallbacks` of them by the fallback. */
  errors = 0;
  fallbacks = 0;
  /** Latency (ms) of the last answers to requests routed here, fallback answers included. */
  readonly latency: LatencyRing;
  readonly #ort: OrtModule;
  readonly #session: OrtSession;
  /** Coalesces the runs of one event-loop turn (absent: every run alone). */
  readonly #batcher: RunBatcher | undefined;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #released = false;

  private constructor(
    ort: OrtModule,
    session: OrtSession,
    model: LoadedModel,
    input: TensorSpec,
    width: number,
    latencyWindow: number,
    batchRows: number,
  ) {
    this.model = model;
    this.scoreOutput = scoreOutputOf(model.artifact.outputs);
    this.latency = new LatencyRing(latencyWindow);
    this.name = model.name;
    this.version = model.version;
    this.input = input;
    this.inputName = input.name;
    this.outputs = model.artifact.outputs;
    this.outputNames = model.artifact.outputs.map((o) => o.name);
    this.width = width;
    this.#ort = ort;
    this.#session = session;
    this.#batcher =
      batchRows > 1
        ? new RunBatcher((data, rows, fetches) => this.#runNow(data, rows, fetches), width, batchRows)
        : undefined;
  }

  static async create(
    ort: OrtModule,
    model: LoadedModel,
    options: OrtSessionOptions,
    latencyWindow = 1024,
    batchRows = 1,
  ): Promise<ModelSession> {
    const { artifact } = model;
    const where = `model ${model.name} version ${model.version}`;
    const invalid = (message: string, cause?: unknown) =>
      new VigilError('VIGIL_SERVER_INVALID_MODEL', `${where}: ${message}`, { cause });
    if (artifact.format !== 'onnx')
      throw invalid(`artifact.format: expected 'onnx', got '${artifact.format}'`);
    if (!(artifact.bytes instanceof Uint8Array) || artifact.bytes.length === 0) {
      throw invalid('artifact.bytes: empty');
    }
    const sha256 = createHash('sha256').update(artifact.bytes).digest('hex');
    if (artifact.sha256 && sha256 !== artifact.sha256.toLowerCase()) {
      throw invalid(`artifact.sha256: the bytes hash to ${sha256}, the artifact says ${artifact.sha256}`);
    }
    const input = artifact.inputs[0];
    if (artifact.inputs.length !== 1 || !input) {
      throw invalid(`artifact.inputs: expected exactly one input, got ${artifact.inputs.length}`);
    }
    if (input.datatype !== 'FP32' || input.shape.length !== 2) {
      throw invalid(
        `artifact.inputs[0]: expected FP32 [-1, d], got ${input.datatype} [${input.shape.join(', ')}]`,
      );
    }
    const declaredWidth = input.shape[1]!;
    const featureCount = artifact.featureNames.length;
    // A row model reads d features per row; a sequence model (TCN) L steps of them, L·d.
    if (declaredWidth > 0 && featureCount > 0 && declaredWidth % featureCount !== 0) {
      throw invalid(
        `artifact.inputs[0].shape: width ${declaredWidth} is neither ${featureCount} featureNames nor a multiple of them (L·d, a sequence model)`,
      );
    }
    const width = declaredWidth > 0 ? declaredWidth : featureCount;
    if (width <= 0) throw invalid('artifact.inputs[0].shape: the input width is unknown (no featureNames)');
    if (artifact.outputs.length === 0) throw invalid('artifact.outputs: the artifact declares no outputs');

    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(artifact.bytes, options);
    } catch (error) {
      throw invalid(`onnxruntime cannot load the model: ${(error as Error).message}`, error);
    }
    const problems = [
      ...checkSignature('inputs', artifact.inputs, session.inputMetadata),
      ...checkSignature('outputs', artifact.outputs, session.outputMetadata),
    ];
    if (problems.length > 0) {
      await session.release();
      throw invalid(problems.join('; '));
    }
    return new ModelSession(ort, session, model, input, width, latencyWindow, batchRows);
  }

  /** Score `rows` rows of `width` features (row-major) in one session run. */
  async run(
    data: Float32Array,
    rows: number,
    fetches: readonly string[],
  ): Promise<Record<string, OrtTensor>> {
    if (this.#released) {
      throw new VigilError(
        'VIGIL_SERVER_UNKNOWN_MODEL',
        `model ${this.name} version ${this.version} was unloaded`,
      );
    }
    this.#inFlight++;
    try {
      return await (this.#batcher
        ? this.#batcher.run(data, rows, fetches)
        : this.#runNow(data, rows, fetches));
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#idle?.();
    }
  }

  #runNow(data: Float32Array, rows: number, fetches: readonly string[]): Promise<Record<string, OrtTensor>> {
    const tensor = new this.#ort.Tensor('float32', data, [rows, this.width]);
    return this.#session.run({ [this.input.name]: tensor }, fetches);
  }

  /** onnxruntime runs that scored more than one request at once, and the rows in them. */
  get batchedRuns(): number {
    return this.#batcher?.runs ?? 0;
  }

  get batchedRows(): number {
    return this.#batcher?.rows ?? 0;
  }

  /** Release the session once the runs in flight have finished. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    }
    await this.#session.release();
  }
}
