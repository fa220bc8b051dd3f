import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ErrorCode, Logger, RouteSpec } from '@vigil/core';
import {
  type ApiKeyConfig,
  ApiKeys,
  isVigilError,
  missingKeyReason,
  presentedKey,
  type Role,
  roleAllows,
} from '@vigil/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeBinaryRequest, HEADER_LENGTH_HEADER } from '../protocol/binary-request.js';
import { RateLimiter } from '../security/rate-limiter.js';
import { createFastInfer, type Refusal } from './fast-infer.js';
import type { HttpTarget } from './http-target.js';

/** Header that names the version that answered, and pins it when a client sends it back. */
export const ROUTE_HEADER = 'x-seldon-route';
/** Header whose value is hashed to pick a version (sticky routing, e.g. per trial site). */
export const ROUTE_KEY_HEADER = 'x-vigil-route-key';

export interface HttpServerOptions {
  host: string;
  port: number;
  bodyLimitBytes: number;
  logger: Logger;
  /** API keys; empty: prediction endpoints are open and state-changing ones refused. */
  keys?: readonly ApiKeyConfig[];
  rateLimit?: { perSecond: number; burst: number };
  /** `GET /metrics` without a key. */
  publicMetrics?: boolean;
}

/** Who may call a route: anyone (`public`), `metrics` (public when `publicMetrics`), or a role. */
type Access = 'public' | 'metrics' | Role;

export interface RunningHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

interface ModelParams {
  model: string;
  version?: string;
}

const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  VIGIL_SERVER_UNKNOWN_MODEL: 404,
  VIGIL_SERVER_UNKNOWN_ENTITY: 404,
  VIGIL_KERNEL_CLOSED: 503,
  VIGIL_SERVER_FEATURES_UNAVAILABLE: 503,
  VIGIL_SERVER_FALLBACK_FAILED: 503,
};

function statusOf(error: unknown): { status: number; message: string; code?: string } {
  if (isVigilError(error)) {
    return { status: STATUS_OF_CODE[error.code] ?? 400, message: error.message, code: error.code };
  }
  const statusCode = (error as Partial<FastifyError> | undefined)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, message: (error as Error).message };
  }
  return { status: 500, message: 'internal server error' };
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * Serve the Open Inference Protocol (KServe v2) over HTTP with fastify. Handlers stay
 * thin: they call the same `infer`/`metadata`/`ready` as the in-process API. Every error
 * is `{"error": "..."}`: 400 bad request, 404 unknown model, 413/415 from the body
 * parser; 500 only for a fault of the server itself.
 */
export async function startHttpServer(
  target: HttpTarget,
  options: HttpServerOptions,
): Promise<RunningHttpServer> {
  const { fastify } = await import('fastify');
  // The door check, shared by the fastify hook and the infer fast path: rate limit, then API
  // key and role. Undefined when the request may pass.
  const keys = new ApiKeys(options.keys ?? []);
  const limiter = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined;
  const refusal = (
    method: string,
    url: string,
    headers: IncomingMessage['headers'],
    ip: string | undefined,
    needed: Role,
  ): Refusal | undefined => {
    const presented = presentedKey(headers);
    const found = presented.key !== undefined ? keys.find(presented.key) : undefined;
    if (limiter) {
      const wait = limiter.take(found ? `key:${found.name}` : `addr:${ip}`);
      if (wait > 0) {
        return {
          status: 429,
          code: 'VIGIL_SERVER_RATE_LIMITED',
          message: 'rate limit exceeded; retry after the Retry-After seconds',
          header: ['retry-after', String(Math.max(1, Math.ceil(wait)))],
        };
      }
    }
    const unauthorized = (message: string): Refusal => ({
      status: 401,
      code: 'VIGIL_SERVER_UNAUTHORIZED',
      message,
      header: ['www-authenticate', 'Bearer'],
    });
    if (!keys.enabled) {
      if (needed === 'predict') return undefined;
      return unauthorized(
        `${method} ${url.split('?')[0]} changes state and needs an API key with role ${needed}; this server has no API keys configured (auth.keys)`,
      );
    }
    if (!found) {
      return unauthorized(missingKeyReason(presented));
    }
    if (!roleAllows(found.role, needed)) {
      return {
        status: 403,
        code: 'VIGIL_SERVER_FORBIDDEN',
        message: `API key '${found.name}' has role ${found.role}; ${method} ${url.split('?')[0]} needs ${needed}`,
      };
    }
    return undefined;
  };

  // `POST …/infer` is answered on bare node:http in front of fastify (see fast-infer.ts);
  // every other request, and every infer request the fast path does not take, goes to fastify.
  let closing = false;
  let fastInfer: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const app: FastifyInstance = fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: true,
    // Bad URLs and the like fail before routing: answer them in the same JSON shape.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      void reply.code(400).send({ error: error.message });
    },
    // The server fastify would make itself (same timeouts), with the fast path in front.
    serverFactory: (handler, serverOptions) => {
      const server = createServer(
        (serverOptions as { http?: object }).http ?? {},
        (req: IncomingMessage, res: ServerResponse) => {
          if (fastInfer === undefined || !fastInfer(req, res)) handler(req, res);
        },
      );
      const o = serverOptions as {
        keepAliveTimeout?: number;
        requestTimeout?: number;
        connectionTimeout?: number;
        maxRequestsPerSocket?: number;
      };
      if (o.keepAliveTimeout !== undefined) server.keepAliveTimeout = o.keepAliveTimeout;
      if (o.requestTimeout !== undefined) server.requestTimeout = o.requestTimeout;
      server.setTimeout(o.connectionTimeout ?? 0);
      if (o.maxRequestsPerSocket !== undefined && o.maxRequestsPerSocket > 0) {
        server.maxRequestsPerSocket = o.maxRequestsPerSocket;
      }
      return server;
    },
  });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  // Bodies that are not `application/json`: the binary data extension (JSON header +
  // raw tensors, split at Inference-Header-Content-Length) from any content type, and a
  // JSON body without content type or as application/octet-stream (what tritonclient
  // sends). Other content types keep their 415.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const headerLength = headerValue(request, HEADER_LENGTH_HEADER);
    const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (
      headerLength === undefined &&
      type !== undefined &&
      type !== '' &&
      type !== 'application/octet-stream'
    ) {
      const error = new Error(`Unsupported Media Type: ${type}`) as Error & { statusCode: number };
      error.statusCode = 415;
      done(error, undefined);
      return;
    }
    try {
      done(
        null,
        decodeBinaryRequest(body as Buffer, headerLength, (text) => {
          let parsed: unknown;
          let failure: Error | null = null;
          parseJson(request, text, (error, value) => {
            failure = error;
            parsed = value;
          });
          if (failure) throw failure;
          return parsed;
        }),
      );
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error: unknown, _request: FastifyRequest, reply: FastifyReply) => {
    const { status, message, code } = statusOf(error);
    if (status >= 500 && status !== 503) {
      options.logger.error({ err: error }, 'inference server request failed');
    }
    void reply.code(status).send(code === undefined ? { error: message } : { error: message, code });
  });

  // Security at the door, before the body is read: rate limit, then API key and role.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const access = ((request.routeOptions.config as { access?: Access } | undefined)?.access ??
      'predict') as Access;
    if (access === 'public' || (access === 'metrics' && options.publicMetrics)) return;
    const needed: Role = access === 'metrics' ? 'predict' : access;
    const refused = refusal(request.method, request.url, request.headers, request.ip, needed);
    if (refused === undefined) return;
    if (refused.header) void reply.header(refused.header[0], refused.header[1]);
    return reply.code(refused.status).send({ error: refused.message, code: refused.code });
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    void reply.code(404).send({ error: `no endpoint ${request.method} ${request.url.split('?')[0]}` });
  });

  const publicRoute = { config: { access: 'public' as Access } };
  const operate = { config: { access: 'operate' as Access } };
  app.get('/v2', async () => ({ name: 'vigil-onnx-server', version: '0.1.0', extensions: [] }));
  app.get('/v2/health/live', publicRoute, async () => ({ live: true }));
  app.get('/v2/health/ready', publicRoute, async () => ({ ready: true }));

  app.get('/metrics', { config: { access: 'metrics' as Access } }, async (_request, reply) => {
    let text: string | undefined;
    try {
      text = await target.metricsText();
    } catch (error) {
      options.logger.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'metrics source failed',
      );
      return reply.code(503).send({ error: 'the metrics source failed' });
    }
    if (text === undefined) return reply.code(404).send({ error: 'no metrics source is set' });
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  app.put('/v2/models/:model/route', operate, async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const { model } = request.params;
    target.ready(model);
    await target.route(model, request.body as RouteSpec);
    return { name: model, route: target.getRoute(model) };
  });
  app.post(
    '/v2/models/:model/rollback',
    operate,
    async (request: FastifyRequest<{ Params: ModelParams }>) => {
      const { model } = request.params;
      target.ready(model);
      return { name: model, route: await target.rollback(model) };
    },
  );

  app.get(
    '/:collection/:id/risk',
    async (
      request: FastifyRequest<{
        Params: { collection: string; id: string };
        Querystring: { model?: unknown };
      }>,
    ) => {
      const model = request.query.model;
      if (model !== undefined && typeof model !== 'string') {
        const error = new Error('model: expected one model name') as Error & { statusCode: number };
        error.statusCode = 400;
        throw error;
      }
      return target.risk(request.params.collection, request.params.id, model);
    },
  );

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>) =>
    target.metadata(request.params.model, request.params.version);
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);

  const ready = async (request: FastifyRequest<{ Params: ModelParams }>) => ({
    name: request.params.model,
    ready: target.ready(request.params.model, request.params.version),
  });
  app.get('/v2/models/:model/ready', ready);
  app.get('/v2/models/:model/versions/:version/ready', ready);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const version = request.params.version ?? headerValue(request, ROUTE_HEADER);
    const routeKey = headerValue(request, ROUTE_KEY_HEADER);
    const response = await target.infer(request.params.model, request.body as never, { version, routeKey });
    // A fallback answer names no loaded version, so it gives no route to pin.
    if (response.model_version !== undefined && response.parameters?.fallback !== true) {
      void reply.header(ROUTE_HEADER, response.model_version);
    }
    return response;
  };
  app.post('/v2/models/:model/infer', infer);
  app.post('/v2/models/:model/versions/:version/infer', infer);

  fastInfer = createFastInfer({
    target,
    logger: options.logger,
    bodyLimitBytes: options.bodyLimitBytes,
    routeHeader: ROUTE_HEADER,
    routeKeyHeader: ROUTE_KEY_HEADER,
    closing: () => closing,
    refusal: (method, url, headers, ip) => refusal(method, url, headers, ip, 'predict'),
    statusOf,
    parseJson: (text) => {
      let parsed: unknown;
      let failure: Error | null = null;
      parseJson(undefined as never, text, (error, value) => {
        failure = error;
        parsed = value;
      });
      if (failure) throw failure;
      return parsed;
    },
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`fastify listens on an unexpected address ${String(address)}`);
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => {
      closing = true;
      return app.close();
    },
  };
}
