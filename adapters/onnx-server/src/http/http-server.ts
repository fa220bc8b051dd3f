import type { Logger } from '@vigil/core';
import { isVigilError } from '@vigil/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeBinaryRequest, HEADER_LENGTH_HEADER } from '../protocol/binary-request.js';
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
}

export interface RunningHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

interface ModelParams {
  model: string;
  version?: string;
}

function statusOf(error: unknown): { status: number; message: string } {
  if (isVigilError(error)) {
    if (error.code === 'VIGIL_SERVER_UNKNOWN_MODEL') return { status: 404, message: error.message };
    if (error.code === 'VIGIL_KERNEL_CLOSED') return { status: 503, message: error.message };
    return { status: 400, message: error.message };
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
  const app: FastifyInstance = fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: true,
    // Bad URLs and the like fail before routing: answer them in the same JSON shape.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      void reply.code(400).send({ error: error.message });
    },
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
    const { status, message } = statusOf(error);
    if (status >= 500 && status !== 503) {
      options.logger.error({ err: error }, 'inference server request failed');
    }
    void reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    void reply.code(404).send({ error: `no endpoint ${request.method} ${request.url.split('?')[0]}` });
  });

  app.get('/v2', async () => ({ name: 'vigil-onnx-server', version: '0.1.0', extensions: [] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async () => ({ ready: true }));

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
    if (response.model_version !== undefined) void reply.header(ROUTE_HEADER, response.model_version);
    return response;
  };
  app.post('/v2/models/:model/infer', infer);
  app.post('/v2/models/:model/versions/:version/infer', infer);

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`fastify listens on an unexpected address ${String(address)}`);
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => app.close(),
  };
}
