/**
 * The Server contract must catch broken servers. A small in-memory server (logistic
 * models whose "artifact bytes" are JSON weights, a router and a node:http OIP layer)
 * passes every case; each injected bug makes the cases aimed at it fail. The real
 * onnxruntime server runs the suite in adapters/onnx-server.
 */
import { createHash } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ModelArtifact } from '../domain/model.js';
import { type ErrorCode, isVigilError, VigilError } from '../errors.js';
import type {
  InferenceRequest,
  InferenceResponse,
  LoadedModel,
  OipTensor,
  RouteSpec,
  Server,
} from '../ports/server.js';
import { defaultServerCapabilities } from '../ports/server.js';
import { createRng } from '../random.js';
import { checkContract } from './contract.js';
import { type ServerFixture, serverContract } from './server-contract.js';

type Bug =
  | 'none'
  | 'ignore-weights'
  | 'ignore-route-key'
  | 'mirror-answers'
  | 'rollback-noop'
  | 'accepts-unloaded'
  | 'http-500';

interface ToyModel {
  weights: number[];
  bias: number;
}

const fail = (code: ErrorCode, message: string) => new VigilError(code, message);

function toyArtifact(model: ToyModel): ModelArtifact {
  const bytes = new TextEncoder().encode(JSON.stringify(model));
  const d = model.weights.length;
  return {
    format: 'onnx',
    bytes,
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, d] }],
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    ],
    featureNames: model.weights.map((_, i) => `f${i}`),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function hashKey(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return ((h ^ (h >>> 13)) >>> 0) / 4294967296;
}

class ToyServer implements Server {
  readonly capabilities = defaultServerCapabilities;
  readonly #models = new Map<string, Map<string, ToyModel>>();
  readonly #history = new Map<string, RouteSpec[]>();
  readonly #rng = createRng(11);
  #http: HttpServer | undefined;

  constructor(readonly bug: Bug) {}

  async load({ name, version, artifact }: LoadedModel): Promise<void> {
    const model = JSON.parse(new TextDecoder().decode(artifact.bytes)) as ToyModel;
    const versions = this.#models.get(name) ?? new Map<string, ToyModel>();
    versions.set(version, model);
    this.#models.set(name, versions);
  }

  async unload(name: string, version: string): Promise<void> {
    if (!this.#models.get(name)?.has(version))
      throw fail('VIGIL_SERVER_UNKNOWN_MODEL', `no ${name}/${version}`);
    const spec = this.getRoute(name);
    if (spec && [...spec.candidates.map((c) => c.version), spec.mirror?.version].includes(version)) {
      throw fail('VIGIL_SERVER_INVALID_ROUTE', `${version} is routed`);
    }
    this.#models.get(name)!.delete(version);
  }

  async route(name: string, spec: RouteSpec): Promise<void> {
    const bad = (why: string) => fail('VIGIL_SERVER_INVALID_ROUTE', why);
    const loaded = (v: string) => this.bug === 'accepts-unloaded' || this.#models.get(name)?.has(v) === true;
    if (!Array.isArray(spec.candidates) || spec.candidates.length === 0) throw bad('no candidates');
    let sum = 0;
    for (const c of spec.candidates) {
      if (!loaded(c.version)) throw bad(`${c.version} not loaded`);
      if (!(c.weight >= 0)) throw bad('negative weight');
      sum += c.weight;
    }
    if (!(sum > 0)) throw bad('weights sum to 0');
    if (
      spec.mirror &&
      (!loaded(spec.mirror.version) || !(spec.mirror.percent >= 0 && spec.mirror.percent <= 100))
    ) {
      throw bad('bad mirror');
    }
    const history = this.#history.get(name) ?? [];
    history.push(structuredClone(spec));
    this.#history.set(name, history);
  }

  getRoute(name: string): RouteSpec | undefined {
    const spec = this.#history.get(name)?.at(-1);
    return spec && structuredClone(spec);
  }

  async rollback(name: string): Promise<RouteSpec> {
    const history = this.#history.get(name) ?? [];
    const previous = history.at(-2);
    if (!previous) throw fail('VIGIL_SERVER_INVALID_ROUTE', 'no previous route');
    if (this.bug !== 'rollback-noop') history.pop();
    return structuredClone(previous);
  }

  #pick(spec: RouteSpec, routeKey: string | undefined): string {
    const u =
      routeKey === undefined || this.bug === 'ignore-route-key' ? this.#rng.next() : hashKey(routeKey);
    const { candidates } = spec;
    if (this.bug === 'ignore-weights') return candidates[Math.floor(u * candidates.length)]!.version;
    const total = candidates.reduce((s, c) => s + c.weight, 0);
    let acc = 0;
    for (const c of candidates) {
      acc += c.weight / total;
      if (c.weight > 0 && u < acc) return c.version;
    }
    return candidates.filter((c) => c.weight > 0).at(-1)!.version;
  }

  async infer(
    name: string,
    request: InferenceRequest,
    options: { version?: string; routeKey?: string } = {},
  ): Promise<InferenceResponse> {
    const versions = this.#models.get(name);
    if (!versions || versions.size === 0) throw fail('VIGIL_SERVER_UNKNOWN_MODEL', `no model ${name}`);
    const spec = this.getRoute(name);
    let version =
      options.version ?? (spec ? this.#pick(spec, options.routeKey) : [...versions.keys()].at(-1)!);
    if (options.version === undefined && spec?.mirror && this.bug === 'mirror-answers') {
      if (this.#rng.next() < spec.mirror.percent / 100) version = spec.mirror.version;
    }
    const model = versions.get(version);
    if (!model) throw fail('VIGIL_SERVER_UNKNOWN_MODEL', `no version ${version}`);
    const d = model.weights.length;
    const invalid = (why: string) => fail('VIGIL_SERVER_INVALID_REQUEST', why);
    const input = (request as Partial<InferenceRequest> | null)?.inputs?.[0];
    if (!input || (input.datatype !== 'FP32' && input.datatype !== 'FP64'))
      throw invalid('inputs[0] missing');
    const [rows = -1, width = -1] = input.shape;
    if (input.shape.length !== 2 || width !== d) throw invalid('inputs[0].shape');
    const values = (input.data as unknown[]).flat(Number.POSITIVE_INFINITY);
    if (values.length !== rows * d) throw invalid('inputs[0].data length');
    values.forEach((v, i) => {
      if (v !== null && typeof v !== 'number') throw invalid(`inputs[0].data[${i}] is not a number`);
    });
    const p = Array.from({ length: rows }, (_, r) => {
      let z = model.bias;
      for (let c = 0; c < d; c++) z += model.weights[c]! * ((values[r * d + c] as number | null) ?? 0);
      return 1 / (1 + Math.exp(-z));
    });
    const outputs: OipTensor[] = [
      { name: 'label', shape: [rows], datatype: 'INT64', data: p.map((q) => (q > 0.5 ? 1 : 0)) },
      { name: 'probabilities', shape: [rows, 2], datatype: 'FP32', data: p.flatMap((q) => [1 - q, q]) },
    ];
    const wanted = request.outputs?.map((o) => o.name);
    const response: InferenceResponse = {
      model_name: name,
      model_version: version,
      outputs: wanted ? outputs.filter((o) => wanted.includes(o.name)) : outputs,
    };
    if (request.id !== undefined) response.id = request.id;
    return response;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const url = req.url ?? '';
      if (url === '/v2' || url === '/v2/health/live' || url === '/v2/health/ready') return send(200, {});
      const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(url);
      if (!m) return send(404, { error: 'no such endpoint' });
      const [, name = '', version, action] = m;
      if (action === '/infer') {
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
          return send(415, { error: 'unsupported content type' });
        }
        let body: InferenceRequest;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as InferenceRequest;
        } catch {
          throw fail('VIGIL_SERVER_INVALID_REQUEST', 'body is not JSON');
        }
        const pinned = version ?? (req.headers['x-seldon-route'] as string | undefined);
        const response = await this.infer(name, body, { version: pinned });
        return send(200, response, { 'x-seldon-route': response.model_version ?? '' });
      }
      const versions = this.#models.get(name);
      if (!versions || (version !== undefined && !versions.has(version))) {
        throw fail('VIGIL_SERVER_UNKNOWN_MODEL', `no model ${name}`);
      }
      if (action === '/ready') return send(200, { name, ready: true });
      const artifact = toyArtifact([...versions.values()][0]!);
      send(200, { name, versions: [...versions.keys()], inputs: artifact.inputs, outputs: artifact.outputs });
    } catch (error) {
      const status = isVigilError(error, 'VIGIL_SERVER_UNKNOWN_MODEL')
        ? 404
        : isVigilError(error)
          ? 400
          : 500;
      send(this.bug === 'http-500' ? 500 : status, { error: (error as Error).message });
    }
  }

  async listen(options: { host?: string; port?: number }): Promise<{ url: string }> {
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#http = server;
    await new Promise<void>((resolve) =>
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
    );
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  async close(): Promise<void> {
    const server = this.#http;
    this.#http = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
}

const artifacts: [ModelArtifact, ModelArtifact] = [
  toyArtifact({ weights: [0.8, -0.4, 1.2], bias: -0.2 }),
  toyArtifact({ weights: [-0.5, 0.9, 0.1], bias: 0.4 }),
];

const factory = (bug: Bug) => async (): Promise<ServerFixture> => {
  const impl = new ToyServer(bug);
  return { impl, artifacts, cleanup: () => impl.close() };
};

const failedNames = async (bug: Bug) =>
  (await checkContract(serverContract, factory(bug))).failed.map((f) => f.name).sort();

const caseNamed = (prefix: string) => {
  const found = serverContract.cases.find((c) => c.name.startsWith(prefix));
  if (!found) throw new Error(`no case starting with '${prefix}'`);
  return found.name;
};

describe('server contract', () => {
  it('passes a correct in-memory server', async () => {
    const report = await checkContract(serverContract, factory('none'));
    expect(report.failed.map((f) => `${f.name}: ${String(f.error)}`)).toEqual([]);
    expect(report.passed).toHaveLength(serverContract.cases.length);
  });

  it.each<[Bug, string[]]>([
    ['ignore-weights', ['route weights split traffic', 'rollback restores']],
    ['ignore-route-key', ['a route key pins one version']],
    ['mirror-answers', ['a mirror gets a copy']],
    ['rollback-noop', ['rollback restores']],
    ['accepts-unloaded', ['invalid routes are', 'a routed version cannot be unloaded']],
    ['http-500', ['HTTP: health', 'HTTP: errors are JSON']],
  ])('fails a server with bug %s exactly in the cases aimed at it', async (bug, prefixes) => {
    expect(await failedNames(bug)).toEqual(prefixes.map(caseNamed).sort());
  });
});
