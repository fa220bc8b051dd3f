import http from 'node:http';
import https from 'node:https';
import { GatewayError } from '../errors.js';
import type { Upstream } from './upstream.js';

/** The response header naming the color that answered. */
export const COLOR_HEADER = 'x-vigil-gateway-color';

/** Hop-by-hop headers (RFC 9110 §7.6.1) are for one connection and never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The end-to-end headers of a message: without hop-by-hop ones and those its Connection names. */
export function endToEndHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ''),
  );
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Read a request body whole, refusing more than `limit` bytes. */
export function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(
        new GatewayError(
          'VIGIL_GATEWAY_BODY_TOO_LARGE',
          `content-length ${declared} exceeds maxBodyBytes ${limit}`,
        ),
      );
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(
          new GatewayError('VIGIL_GATEWAY_BODY_TOO_LARGE', `request body exceeds maxBodyBytes ${limit}`),
        );
        request.removeAllListeners('data');
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks, size)));
    request.on('error', reject);
  });
}

export function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE']);

export interface ForwardOptions {
  timeoutMs: number;
}

/**
 * Forward one request (its body already read) to `upstream`, preserving method, path and
 * query, end-to-end headers and body, and stream the answer back with the color header added.
 * The request goes out on the upstream's keep-alive agent. A connection the upstream closed
 * while idle (ECONNRESET/EPIPE on a reused socket, before any answer) is retried once on a
 * fresh one, as Node's docs advise; any other failure before the answer is a 502 (504 on
 * timeout) with a JSON `{error, code}`, and a failure mid-answer ends the client's response.
 * Resolves when the exchange is over; never rejects.
 */
export function forward(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  body: Buffer,
  upstream: Upstream,
  options: ForwardOptions,
): Promise<void> {
  const headers = endToEndHeaders(request.headers);
  if (
    body.length > 0 ||
    request.headers['content-length'] !== undefined ||
    request.headers['transfer-encoding']
  ) {
    headers['content-length'] = String(body.length);
  }
  const remote = request.socket.remoteAddress ?? '';
  const forwardedFor = request.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${remote}` : remote;
  if (request.headers.host !== undefined && headers['x-forwarded-host'] === undefined) {
    headers['x-forwarded-host'] = request.headers.host;
  }
  const client = upstream.url.protocol === 'https:' ? https : http;
  return new Promise<void>((resolve) => {
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    const attempt = (mayRetry: boolean) => {
      const outgoing = client.request({
        protocol: upstream.url.protocol,
        hostname: upstream.url.hostname,
        port: upstream.url.port,
        method: request.method,
        path: request.url,
        headers,
        agent: upstream.agent,
      });
      outgoing.setTimeout(options.timeoutMs, () => {
        outgoing.destroy(
          new GatewayError(
            'VIGIL_GATEWAY_UPSTREAM_TIMEOUT',
            `upstream ${upstream.color} (${upstream.href}) sent no answer within ${options.timeoutMs} ms`,
          ),
        );
      });
      const onClientClose = () => {
        if (!response.writableFinished) outgoing.destroy();
      };
      response.once('close', onClientClose);
      outgoing.on('response', (answer) => {
        const out = endToEndHeaders(answer.headers);
        out[COLOR_HEADER] = upstream.color;
        response.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
        answer.pipe(response);
        answer.on('end', done);
        answer.on('error', () => {
          response.destroy();
          done();
        });
        answer.on('aborted', () => {
          response.destroy();
          done();
        });
        response.on('close', done);
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        response.off('close', onClientClose);
        if (response.headersSent || response.destroyed) {
          response.destroy();
          done();
          return;
        }
        if (mayRetry && outgoing.reusedSocket && error.code !== undefined && RETRYABLE.has(error.code)) {
          attempt(false);
          return;
        }
        if (error instanceof GatewayError) {
          sendJson(response, error.status, { error: error.message, code: error.code });
        } else {
          sendJson(response, 502, {
            error: `upstream ${upstream.color} (${upstream.href}) unreachable: ${error.code ?? error.message}`,
            code: 'VIGIL_GATEWAY_UPSTREAM_UNREACHABLE',
          });
        }
        done();
      });
      outgoing.end(body);
    };
    attempt(true);
  });
}
