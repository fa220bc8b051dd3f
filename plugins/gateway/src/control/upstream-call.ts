import http from 'node:http';
import https from 'node:https';
import type { Upstream } from '../proxy/upstream.js';

export interface CallResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when the body was not JSON. */
  json: unknown;
  text: string;
  ms: number;
}

/**
 * One HTTP call the gateway makes itself (checks, status) to an upstream, on its keep-alive
 * agent, with a timeout. Rejects with a message naming the upstream when it is unreachable.
 */
export function callUpstream(
  upstream: Upstream,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; timeoutMs: number; key?: string | undefined },
): Promise<CallResult> {
  const client = upstream.url.protocol === 'https:' ? https : http;
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = client.request(
      {
        protocol: upstream.url.protocol,
        hostname: upstream.url.hostname,
        port: upstream.url.port,
        method,
        path,
        headers,
        agent: upstream.agent,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            json,
            text,
            ms: performance.now() - started,
          });
        });
      },
    );
    request.setTimeout(options.timeoutMs, () =>
      request.destroy(new Error(`${method} ${path}: no answer within ${options.timeoutMs} ms`)),
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`${method} ${upstream.href}${path}: ${error.code ?? error.message}`)),
    );
    request.end(payload);
  });
}

/** The `error` of a JSON error answer, or the start of the body. */
export function answerError(result: CallResult): string {
  const error = (result.json as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : result.text.slice(0, 200);
}
