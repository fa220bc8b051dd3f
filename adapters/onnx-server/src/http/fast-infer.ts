import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InferenceRequest, Logger } from '@vigil/core';
import { decodeBinaryRequest, HEADER_LENGTH_HEADER } from '../protocol/binary-request.js';
import type { HttpTarget } from './http-target.js';

/** A refusal at the door (rate limit, API key, role), as the fastify hook sends it. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  /** `www-authenticate` (401) or `retry-after` (429). */
  header?: [string, string];
}

export interface FastInferOptions {
  target: HttpTarget;
  logger: Logger;
  bodyLimitBytes: number;
  routeHeader: string;
  routeKeyHeader: string;
  /** Whether the server is closing: then fastify answers (503, `Connection: close`). */
  closing: () => boolean;
  /** The same check as the `onRequest` hook, for a `predict` route. */
  refusal: (
    method: string,
    url: string,
    headers: IncomingMessage['headers'],
    ip: string | undefined,
  ) => Refusal | undefined;
  /** The same mapping as the fastify error handler. */
  statusOf: (error: unknown) => { status: number; message: string; code?: string };
  /** fastify's own JSON body parser (prototype poisoning rejected, same errors). */
  parseJson: (text: string) => unknown;
}

/** Model (and version) segments the fast path takes; anything else (percent-escapes, >100 characters, fastify's `maxParamLength`) goes to fastify. */
const INFER_PATH = /^\/v2\/models\/([A-Za-z0-9_.-]{1,100})(?:\/versions\/([A-Za-z0-9_.-]{1,100}))?\/infer$/;
const CONTENT_LENGTH = /^[0-9]{1,15}$/;
const JSON_TYPE = 'application/json; charset=utf-8';

type BodyMode = 'json' | 'any';

function bodyMode(contentType: string | undefined): BodyMode | undefined {
  if (contentType === undefined || contentType === 'application/octet-stream') return 'any';
  if (contentType === 'application/json' || contentType === 'application/json; charset=utf-8') return 'json';
  return undefined;
}

function headerValue(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  extra?: [string, string],
  close?: boolean,
): void {
  res.statusCode = status;
  res.setHeader('content-type', JSON_TYPE);
  if (extra) res.setHeader(extra[0], extra[1]);
  if (close) res.setHeader('connection', 'close');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * `POST /v2/models/{m}[/versions/{v}]/infer` on bare `node:http`, in front of fastify. It
 * takes only requests whose headers it can judge alone: POST, a plain model path, a
 * `Content-Length` within the body limit, no `Transfer-Encoding`, and no content type, JSON
 * or `application/octet-stream`; every other request (and any request while closing) is
 * left to fastify (the listener returns false before reading anything). For the requests it
 * takes it does what fastify's route does, with the same functions: the door check, fastify's
 * JSON parser or the binary data extension, `target.infer`, the same error mapping and
 * bodies, `Connection: close` after a body that fails to parse, and `x-seldon-route`.
 */
export function createFastInfer(
  options: FastInferOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { target, logger, bodyLimitBytes, routeHeader, routeKeyHeader, statusOf, parseJson } = options;

  const sendError = (res: ServerResponse, error: unknown, close: boolean) => {
    const { status, message, code } = statusOf(error);
    if (status >= 500 && status !== 503) {
      logger.error({ err: error }, 'inference server request failed');
    }
    sendJson(
      res,
      status,
      JSON.stringify(code === undefined ? { error: message } : { error: message, code }),
      undefined,
      close,
    );
  };

  const answer = async (
    res: ServerResponse,
    model: string,
    version: string | undefined,
    request: unknown,
    headers: IncomingMessage['headers'],
  ) => {
    try {
      const response = await target.infer(model, request as InferenceRequest, {
        version: version ?? headerValue(headers, routeHeader),
        routeKey: headerValue(headers, routeKeyHeader),
      });
      const route =
        response.model_version !== undefined && response.parameters?.fallback !== true
          ? ([routeHeader, response.model_version] as [string, string])
          : undefined;
      sendJson(res, 200, JSON.stringify(response), route);
    } catch (error) {
      sendError(res, error, false);
    }
  };

  return (req, res) => {
    if (req.method !== 'POST' || options.closing()) return false;
    const url = req.url;
    if (url === undefined) return false;
    const match = INFER_PATH.exec(url);
    if (match === null) return false;
    const headers = req.headers;
    if (headers['transfer-encoding'] !== undefined) return false;
    const lengthHeader = headers['content-length'];
    if (lengthHeader === undefined || !CONTENT_LENGTH.test(lengthHeader)) return false;
    const length = Number(lengthHeader);
    if (length === 0 || length > bodyLimitBytes) return false;
    const mode = bodyMode(headers['content-type']);
    if (mode === undefined) return false;

    const refused = options.refusal('POST', url, headers, req.socket.remoteAddress);
    if (refused !== undefined) {
      sendJson(
        res,
        refused.status,
        JSON.stringify({ error: refused.message, code: refused.code }),
        refused.header,
      );
      return true;
    }

    const model = match[1]!;
    const version = match[2];
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (error?: Error) => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onEnd);
      if (error != null) {
        const failure = error as Error & { statusCode?: number };
        if (!(typeof failure.statusCode === 'number' && failure.statusCode >= 400)) failure.statusCode = 400;
        sendError(res, failure, true);
        return;
      }
      let request: unknown;
      try {
        if (received !== length) {
          const mismatch = new Error('Request body size did not match Content-Length') as Error & {
            statusCode: number;
          };
          mismatch.statusCode = 400;
          throw mismatch;
        }
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
        request =
          mode === 'json'
            ? parseJson(body.toString('utf8'))
            : decodeBinaryRequest(body, headerValue(headers, HEADER_LENGTH_HEADER), parseJson);
      } catch (error) {
        sendError(res, error, true);
        return;
      }
      void answer(res, model, version, request, headers);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
    return true;
  };
}
