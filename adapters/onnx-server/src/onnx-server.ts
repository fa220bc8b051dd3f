import type {
  InferenceRequest,
  InferenceResponse,
  LoadedModel,
  Logger,
  RouteSpec,
  Server,
  ServerCapabilities,
} from '@vigil/core';
import { isVigilError, VigilError } from '@vigil/core';
import { type RunningHttpServer, startHttpServer } from './http/http-server.js';
import type { HttpTarget, ModelMetadata } from './http/http-target.js';
import { toOipOutputs } from './protocol/output-tensors.js';
import { type ParsedRequest, parseInferenceRequest } from './protocol/parse-request.js';
import { RouteTable } from './router/route-table.js';
import { ModelSession } from './runtime/model-session.js';
import type { OrtModule } from './runtime/ort.js';

export interface OnnxServerOptions {
  host: string;
  port: number;
  bodyLimitBytes: number;
  intraOpThreads: number;
  /** Seed of the router's random choices. */
  seed: number;
}

/** Traffic counters of one version, for canary analysis. */
export interface VersionStats {
  /** Requests this version answered. */
  served: number;
  /** Mirror copies it received; `mirrorFailures` of them failed. */
  mirrored: number;
  mirrorFailures: number;
}

function unknownModel(message: string): VigilError {
  return new VigilError('VIGIL_SERVER_UNKNOWN_MODEL', message);
}

/**
 * Embedded Server: onnxruntime sessions per model version, a canary/shadow router with
 * rollback, and the Open Inference Protocol over HTTP. Routing decisions (control
 * plane: `route`, `rollback`) are compiled once; `infer` (data plane) only looks them up.
 */
export class OnnxServer implements Server, HttpTarget {
  readonly capabilities: ServerCapabilities = {
    canary: true,
    shadow: true,
    http: true,
    entities: false,
    fallback: false,
  };
  readonly #ort: OrtModule;
  readonly #options: OnnxServerOptions;
  readonly #logger: Logger;
  readonly #routes: RouteTable;
  /** name → version → session. */
  readonly #models = new Map<string, Map<string, ModelSession>>();
  /** name → the version loaded last; answers when a model has no route. */
  readonly #latest = new Map<string, string>();
  readonly #mirrors = new Set<Promise<void>>();
  #http: Promise<RunningHttpServer> | undefined;
  #closing: Promise<void> | undefined;

  constructor(ort: OrtModule, options: OnnxServerOptions, logger: Logger) {
    this.#ort = ort;
    this.#options = options;
    this.#logger = logger;
    this.#routes = new RouteTable(options.seed);
  }

  async load(model: LoadedModel): Promise<void> {
    this.#assertOpen('load');
    const { name, version } = model ?? {};
    if (typeof name !== 'string' || name === '') {
      throw new VigilError('VIGIL_SERVER_INVALID_MODEL', 'model.name: must be a non-empty string');
    }
    if (typeof version !== 'string' || version === '') {
      throw new VigilError(
        'VIGIL_SERVER_INVALID_MODEL',
        `model ${name}: model.version must be a non-empty string`,
      );
    }
    const session = await ModelSession.create(this.#ort, model, {
      intraOpNumThreads: this.#options.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    if (this.#closing) {
      await session.release();
      this.#assertOpen('load');
    }
    let versions = this.#models.get(name);
    if (!versions) {
      versions = new Map();
      this.#models.set(name, versions);
    }
    const previous = versions.get(version);
    versions.set(version, session);
    this.#latest.set(name, version);
    this.#logger.info(
      { model: name, version, sha256: model.artifact.sha256, replaced: !!previous },
      'model loaded',
    );
    if (previous) await previous.release();
  }

  async unload(name: string, version: string): Promise<void> {
    this.#assertOpen('unload');
    const versions = this.#models.get(name);
    const session = versions?.get(version);
    if (!versions || !session) throw unknownModel(`model '${name}' has no loaded version '${version}'`);
    if (this.#routes.uses(name, version)) {
      throw new VigilError(
        'VIGIL_SERVER_INVALID_ROUTE',
        `model ${name} version ${version} is used by the current route; route away from it before unloading`,
      );
    }
    versions.delete(version);
    if (this.#latest.get(name) === version) {
      const last = [...versions.keys()].at(-1);
      if (last === undefined) this.#latest.delete(name);
      else this.#latest.set(name, last);
    }
    if (versions.size === 0) this.#models.delete(name);
    this.#logger.info({ model: name, version }, 'model unloaded');
    await session.release();
  }

  async route(name: string, spec: RouteSpec): Promise<void> {
    this.#assertOpen('route');
    this.#routes.set(name, spec, (v) => this.#models.get(name)?.has(v) === true);
    this.#logger.info({ model: name, route: this.#routes.get(name) }, 'route set');
  }

  getRoute(name: string): RouteSpec | undefined {
    return this.#routes.get(name);
  }

  async rollback(name: string): Promise<RouteSpec> {
    this.#assertOpen('rollback');
    const spec = this.#routes.rollback(name, (v) => this.#models.get(name)?.has(v) === true);
    this.#logger.info({ model: name, route: spec }, 'route rolled back');
    return spec;
  }

  async infer(
    name: string,
    request: InferenceRequest,
    options: { version?: string; routeKey?: string } = {},
  ): Promise<InferenceResponse> {
    this.#assertOpen('infer');
    const versions = this.#models.get(name);
    if (!versions) throw unknownModel(`model '${name}' is not loaded`);
    const routed = options.version === undefined;
    const version = routed
      ? (this.#routes.pick(name, options.routeKey) ?? this.#latest.get(name)!)
      : options.version!;
    const session = versions.get(version);
    if (!session) throw unknownModel(`model '${name}' has no loaded version '${version}'`);
    const parsed = parseInferenceRequest(request, session);
    if (routed) {
      const mirror = this.#routes.mirror(name);
      if (mirror !== undefined) this.#sendMirror(versions, mirror, session, request, parsed);
    }
    const results = await session.run(parsed.data, parsed.rows, parsed.fetches);
    session.served++;
    const response: InferenceResponse = {
      model_name: name,
      model_version: version,
      outputs: toOipOutputs(results, parsed.fetches),
    };
    if (parsed.id !== undefined) response.id = parsed.id;
    return response;
  }

  metadata(name: string, version?: string): ModelMetadata {
    const versions = this.#models.get(name);
    if (!versions) throw unknownModel(`model '${name}' is not loaded`);
    const shown = version ?? this.getRoute(name)?.candidates[0]?.version ?? this.#latest.get(name)!;
    const session = versions.get(shown);
    if (!session) throw unknownModel(`model '${name}' has no loaded version '${shown}'`);
    return {
      name,
      versions: version === undefined ? [...versions.keys()] : [version],
      platform: 'onnxruntime',
      inputs: [session.input],
      outputs: [...session.outputs],
    };
  }

  ready(name: string, version?: string): boolean {
    const versions = this.#models.get(name);
    if (!versions) throw unknownModel(`model '${name}' is not loaded`);
    if (version !== undefined && !versions.has(version)) {
      throw unknownModel(`model '${name}' has no loaded version '${version}'`);
    }
    return true;
  }

  async listen(options: { host?: string; port?: number } = {}): Promise<{ url: string }> {
    this.#assertOpen('listen');
    this.#http ??= startHttpServer(this, {
      host: options.host ?? this.#options.host,
      port: options.port ?? this.#options.port,
      bodyLimitBytes: this.#options.bodyLimitBytes,
      logger: this.#logger,
    });
    try {
      const { url } = await this.#http;
      return { url };
    } catch (error) {
      this.#http = undefined;
      throw error;
    }
  }

  /** Per-version traffic counters (primary answers, mirror copies and failures). */
  stats(): Record<string, Record<string, VersionStats>> {
    const out: Record<string, Record<string, VersionStats>> = {};
    for (const [name, versions] of this.#models) {
      const perVersion: Record<string, VersionStats> = {};
      for (const [version, s] of versions) {
        perVersion[version] = { served: s.served, mirrored: s.mirrored, mirrorFailures: s.mirrorFailures };
      }
      out[name] = perVersion;
    }
    return out;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    if (http) await http.then((h) => h.close()).catch(() => undefined);
    await Promise.allSettled([...this.#mirrors]);
    const sessions = [...this.#models.values()].flatMap((versions) => [...versions.values()]);
    this.#models.clear();
    this.#latest.clear();
    await Promise.allSettled(sessions.map((s) => s.release()));
  }

  /** Score a copy of the request on the mirror version; its answer is discarded. */
  #sendMirror(
    versions: Map<string, ModelSession>,
    version: string,
    primary: ModelSession,
    request: InferenceRequest,
    parsed: ParsedRequest,
  ): void {
    const mirror = versions.get(version);
    if (!mirror) return;
    mirror.mirrored++;
    const run = async () => {
      // Same input layout: reuse the parsed batch (onnxruntime does not write to inputs).
      const input =
        mirror.width === primary.width && mirror.inputName === primary.inputName
          ? parsed
          : parseInferenceRequest({ inputs: request.inputs }, mirror);
      await mirror.run(input.data, input.rows, mirror.outputNames);
    };
    const task = run().catch((error: unknown) => {
      mirror.mirrorFailures++;
      this.#logger.warn(
        {
          model: mirror.name,
          version,
          code: isVigilError(error) ? error.code : undefined,
          reason: error instanceof Error ? error.message : String(error),
        },
        'mirror request failed; the response was not affected',
      );
    });
    this.#mirrors.add(task);
    void task.finally(() => this.#mirrors.delete(task));
  }

  #assertOpen(method: string): void {
    if (this.#closing) throw new VigilError('VIGIL_KERNEL_CLOSED', `onnx server: ${method}() after close()`);
  }
}
