import { VigilError } from '@vigil/core';
import { LakeFsApiError } from './lakefs-api-error.js';

export interface LakeFsClientOptions {
  /** Base URL of the lakeFS server, e.g. `http://127.0.0.1:8000`. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Attempts for answers lakeFS marks as retryable (429, 503, a locked branch). Default 5. */
  attempts?: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body (sent as application/json). */
  json?: unknown;
  /** Raw bytes (sent as application/octet-stream). */
  bytes?: Uint8Array;
}

/** lakeFS's paginated list envelope. */
interface Page<T> {
  pagination: { has_more: boolean; next_offset: string };
  results: T[];
}

const PAGE_SIZE = 1000;

/**
 * A thin client for the lakeFS REST API v1 over `fetch`: basic auth with an access key,
 * JSON and byte bodies, pagination, and retries of the answers lakeFS asks to retry.
 * Non-2xx answers become {@link LakeFsApiError}; an unreachable server a VigilError.
 */
export class LakeFsClient {
  readonly #base: string;
  readonly #auth: string;
  readonly #attempts: number;

  constructor(options: LakeFsClientOptions) {
    this.#base = `${options.endpoint.replace(/\/+$/, '')}/api/v1`;
    this.#auth = `Basic ${Buffer.from(`${options.accessKeyId}:${options.secretAccessKey}`).toString('base64')}`;
    this.#attempts = options.attempts ?? 5;
  }

  get endpoint(): string {
    return this.#base;
  }

  /** Send a request; resolve with the response when it is 2xx, throw LakeFsApiError otherwise. */
  async request(method: string, route: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.#base + route);
    for (const [key, value] of Object.entries(options.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { authorization: this.#auth, accept: 'application/json' };
    let body: RequestInit['body'];
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = options.bytes;
    }
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body });
      } catch (error) {
        throw new VigilError(
          'VIGIL_COMPONENT_FAILED',
          `lakeFS at ${this.#base} is not reachable (${method} ${route}): ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (response.ok) return response;
      const message = await errorMessage(response);
      if (attempt < this.#attempts && retryable(response.status, message)) {
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        continue;
      }
      throw new LakeFsApiError(response.status, message, method, route);
    }
  }

  /** Send a request and parse its JSON answer. */
  async json<T>(method: string, route: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, route, options);
    return (await response.json()) as T;
  }

  /** Send a request and drop its (empty or ignored) body. */
  async send(method: string, route: string, options: RequestOptions = {}): Promise<void> {
    const response = await this.request(method, route, options);
    await response.arrayBuffer();
  }

  /** Every result of a paginated GET, in server order, stopping early once `limit` are collected. */
  async all<T>(route: string, query: Query = {}, limit = Number.POSITIVE_INFINITY): Promise<T[]> {
    const results: T[] = [];
    let after: string | undefined;
    for (;;) {
      const amount = Math.min(PAGE_SIZE, limit - results.length);
      const page = await this.json<Page<T>>('GET', route, { query: { ...query, amount, after } });
      results.push(...page.results);
      if (!page.pagination.has_more || results.length >= limit) return results.slice(0, limit);
      after = page.pagination.next_offset;
    }
  }
}

async function errorMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: use the text
  }
  return text.trim() || response.statusText;
}

function retryable(status: number, message: string): boolean {
  return status === 429 || status === 503 || (status === 500 && /currently locked/i.test(message));
}

/** Encode one path segment of a route (branch, ref, repository). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
