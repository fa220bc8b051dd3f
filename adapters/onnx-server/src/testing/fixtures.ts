import { Writable } from 'node:stream';
import { logisticRegressionOnnx } from '@vigil/adapter-node-trainer';
import type {
  EntityFeatures,
  EntityResolver,
  FallbackScorer,
  LoadedModel,
  Logger,
  PredictionRecord,
  RiskExplanation,
  RouteSpec,
} from '@vigil/core';
import { createLogger, VigilError } from '@vigil/core';
import { OnnxServer, type OnnxServerOptions } from '../onnx-server.js';
import type { OrtModule } from '../runtime/ort.js';

/** Test models: two logistic regressions over features a..d. */
export const FEATURES = ['a', 'b', 'c', 'd'];
export const W1 = [0.8, -0.4, 1.2, 0.3];
export const B1 = -0.2;
export const W2 = [-0.5, 0.9, 0.1, -1.1];
export const B2 = 0.4;
export const modelV1 = logisticRegressionOnnx({ weights: W1, bias: B1, featureNames: FEATURES });
export const modelV2 = logisticRegressionOnnx({ weights: W2, bias: B2, featureNames: FEATURES });

/** P(positive) of a logistic regression, straight from the formula (missing = 0, the model's imputation). */
export function logistic(weights: readonly number[], bias: number, row: readonly (number | null)[]): number {
  const z = row.reduce<number>((s, x, i) => s + (x === null || Number.isNaN(x) ? 0 : x) * weights[i]!, bias);
  return 1 / (1 + Math.exp(-z));
}

export interface Patient {
  row: (number | null)[];
  timestamps: Record<string, string | null>;
  site: string;
}

/** `count` patients P0000…, each with a deterministic feature row. */
export function patients(count: number): Map<string, Patient> {
  const out = new Map<string, Patient>();
  for (let p = 0; p < count; p++) {
    const row = FEATURES.map((_, c) =>
      p === 3 && c === 1 ? null : Math.round(Math.sin(p * 3.1 + c) * 200) / 100,
    );
    out.set(`P${String(p).padStart(4, '0')}`, {
      row,
      timestamps: Object.fromEntries(
        FEATURES.map((f, c) => [
          f,
          row[c] === null ? null : new Date(Date.UTC(2026, 0, 1 + p, c)).toISOString(),
        ]),
      ),
      site: `site-${p % 3}`,
    });
  }
  return out;
}

/**
 * An in-memory EntityResolver over `patients`: unknown ids throw VIGIL_SERVER_UNKNOWN_ENTITY;
 * `fail` makes it throw (an online store that is down; the message names the entity, as a
 * careless store would); `delayMs` makes it slow. Explanations are exact linear SHAP against
 * a zero baseline: contribution = w·x, base = bias.
 */
export class PatientResolver implements EntityResolver {
  readonly entity = 'patient';
  fail = false;
  delayMs = 0;
  calls = 0;
  readonly explained: { version: string; x: number[]; k: number }[] = [];

  constructor(
    readonly table: Map<string, Patient>,
    readonly weights: Record<string, { w: number[]; b: number }>,
  ) {}

  async features(model: LoadedModel, ids: readonly string[]): Promise<EntityFeatures> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.fail) throw new Error(`online store timed out reading ${ids.join(',')}`);
    const width = model.artifact.inputs[0]!.shape[1]!;
    const x = new Float32Array(ids.length * width);
    ids.forEach((id, i) => {
      const patient = this.table.get(id);
      if (!patient) throw new VigilError('VIGIL_SERVER_UNKNOWN_ENTITY', 'no such patient');
      patient.row.forEach((v, c) => {
        x[i * width + c] = v === null ? Number.NaN : v;
      });
    });
    return {
      x,
      timestamps: ids.map((id) => this.table.get(id)!.timestamps),
      sites: ids.map((id) => this.table.get(id)!.site),
    };
  }

  async explain(model: LoadedModel, x: Float32Array, k: number): Promise<RiskExplanation> {
    this.explained.push({ version: model.version, x: Array.from(x), k });
    const { w, b } = this.weights[model.version]!;
    const contributions = FEATURES.map((feature, i) => {
      const value = Number.isNaN(x[i]!) ? null : x[i]!;
      return { feature, value, contribution: (value ?? 0) * w[i]! };
    });
    const drivers = [...contributions]
      .sort((p, q) => Math.abs(q.contribution) - Math.abs(p.contribution))
      .slice(0, k)
      .map((c) => {
        const direction: 'raises' | 'lowers' = c.contribution >= 0 ? 'raises' : 'lowers';
        return { ...c, direction, text: `${c.feature} = ${c.value} (${direction} risk)` };
      });
    return {
      method: 'linear-shap',
      base: b,
      logit: contributions.reduce((s, c) => s + c.contribution, b),
      drivers,
    };
  }

  band(probability: number): string {
    return probability >= 0.7 ? 'high' : probability >= 0.3 ? 'medium' : 'low';
  }
}

/** A fallback that scores σ(Σ non-missing x): all-missing rows get exactly 0.5. Records what it scored. */
export class SumFallback implements FallbackScorer {
  readonly version = 'fallback-sum@1';
  readonly seen: Float32Array[] = [];

  score(x: Float32Array, rows: number): Float32Array {
    this.seen.push(x.slice());
    const width = x.length / rows;
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let z = 0;
      for (let c = 0; c < width; c++) {
        const v = x[r * width + c]!;
        if (!Number.isNaN(v)) z += v;
      }
      out[r] = 1 / (1 + Math.exp(-z));
    }
    return out;
  }
}

/**
 * The real onnxruntime with a switch on every session's `run`: `fail` throws (a model that
 * breaks), `delayMs` answers late (a model that is slow).
 */
export function faultyOrt(ort: OrtModule): OrtModule & { fail: boolean; delayMs: number } {
  const control = {
    fail: false,
    delayMs: 0,
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(buffer: Uint8Array, options?: Parameters<OrtModule['InferenceSession']['create']>[1]) {
        const session = await ort.InferenceSession.create(buffer, options);
        return {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          inputMetadata: session.inputMetadata,
          outputMetadata: session.outputMetadata,
          release: () => session.release(),
          async run(feeds: Parameters<typeof session.run>[0], fetches: readonly string[]) {
            if (control.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, control.delayMs));
            if (control.fail) throw new Error('onnxruntime: simulated kernel failure');
            return session.run(feeds, fetches);
          },
        };
      },
    },
  };
  return control;
}

/** A debug-level logger whose JSON lines are kept in `lines`. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

/** A test server over `faultyOrt`, with what it emitted and logged. */
export interface TestServer {
  server: OnnxServer;
  ort: ReturnType<typeof faultyOrt>;
  resolver: PatientResolver;
  fallback: SumFallback;
  emitted: PredictionRecord[];
  logs: string[];
}

const running: OnnxServer[] = [];

/** Close every server `startTestServer` started (an `afterEach`/`afterAll` of the test file). */
export async function closeTestServers(): Promise<void> {
  for (const server of running.splice(0)) await server.close();
}

/**
 * An OnnxServer over the real onnxruntime (behind `faultyOrt`) serving `ae` versions of
 * `modelV1`/`modelV2` for the patients of `table`, emitting into `emitted` and logging into
 * `logs`. `options` override the server options; `setup` says which versions are loaded
 * (default both), their route (default 1:1 across them; `false`: none, so the latest serves),
 * whether the entity resolver is set (default yes) and the `SumFallback` (default no).
 */
export async function startTestServer(
  table: Map<string, Patient>,
  options: Partial<OnnxServerOptions> = {},
  setup: {
    versions?: readonly ('v1' | 'v2')[];
    route?: RouteSpec['candidates'] | false;
    resolver?: boolean;
    fallback?: boolean;
  } = {},
): Promise<TestServer> {
  const { logger, lines } = capturingLogger();
  const emitted: PredictionRecord[] = [];
  const ort = faultyOrt((await import('onnxruntime-node')) as unknown as OrtModule);
  const server = new OnnxServer(
    ort,
    {
      host: '127.0.0.1',
      port: 0,
      bodyLimitBytes: 1 << 20,
      intraOpThreads: 1,
      seed: 7,
      emit: async (records) => {
        emitted.push(...records);
      },
      ...options,
    },
    logger,
  );
  running.push(server);
  const versions = setup.versions ?? ['v1', 'v2'];
  const models = { v1: modelV1, v2: modelV2 };
  const weights = { v1: { w: W1, b: B1 }, v2: { w: W2, b: B2 } };
  for (const version of versions) await server.load({ name: 'ae', version, artifact: models[version] });
  const route = setup.route ?? versions.map((version) => ({ version, weight: 1 }));
  if (route !== false) await server.route('ae', { candidates: route });
  const resolver = new PatientResolver(
    table,
    Object.fromEntries(versions.map((version) => [version, weights[version]])),
  );
  if (setup.resolver !== false) server.setEntityResolver(resolver);
  const fallback = new SumFallback();
  if (setup.fallback) server.setFallback('ae', fallback);
  return { server, ort, resolver, fallback, emitted, logs: lines };
}
