import { VigilError } from '@vigil/core';

export interface MlflowClientOptions {
  /** Base URL of the tracking server, e.g. `http://127.0.0.1:5000`. */
  trackingUri: string;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  /** Attempts for answers the server asks to retry (429, 503). */
  attempts: number;
}

export type Query = Record<string, string | number | undefined>;

/**
 * A failed MLflow REST call: the HTTP status and MLflow's `error_code` (`RESOURCE_DOES_NOT_EXIST`,
 * `INVALID_PARAMETER_VALUE`, …), translated to Vigil's stable codes where they have a meaning.
 */
export class MlflowApiError extends Error {
  readonly status: number;
  readonly errorCode: string;
  constructor(status: number, errorCode: string, message: string, method: string, route: string) {
    super(`MLflow ${method} ${route} answered ${status} ${errorCode}: ${message}`);
    this.name = 'MlflowApiError';
    this.status = status;
    this.errorCode = errorCode;
  }
}

/**
 * A thin client for MLflow's REST API 2.0 over `fetch`: JSON bodies for the tracking and
 * registry routes (`/api/2.0/mlflow/…`), raw bytes for the proxied artifact store
 * (`/api/2.0/mlflow-artifacts/artifacts/…`). Non-2xx answers become {@link MlflowApiError};
 * an unreachable server a VigilError `VIGIL_COMPONENT_FAILED` naming the URI.
 */
export class MlflowClient {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #attempts: number;

  constructor(options: MlflowClientOptions) {
    this.#base = options.trackingUri.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#attempts = options.attempts;
  }

  get trackingUri(): string {
    return this.#base;
  }

  /** POST a JSON body to `/api/2.0/mlflow/<route>` and parse the JSON answer. */
  post<T>(route: string, body: unknown): Promise<T> {
    return this.#json<T>('POST', `/api/2.0/mlflow/${route}`, { json: body });
  }

  /** GET `/api/2.0/mlflow/<route>?query` and parse the JSON answer. */
  get<T>(route: string, query: Query): Promise<T> {
    return this.#json<T>('GET', `/api/2.0/mlflow/${route}`, { query });
  }

  /** DELETE with a JSON body (MLflow's alias deletion reads the body, not the query). */
  delete<T>(route: string, body: unknown): Promise<T> {
    return this.#json<T>('DELETE', `/api/2.0/mlflow/${route}`, { json: body });
  }

  /** PUT bytes to the proxied artifact store; `path` is already URL-encoded. */
  async putArtifact(path: string, bytes: Uint8Array): Promise<void> {
    const response = await this.#request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${path}`, { bytes });
    await response.arrayBuffer();
  }

  /** GET bytes from the proxied artifact store; `path` is already URL-encoded. */
  async getArtifact(path: string): Promise<Uint8Array> {
    const response = await this.#request('GET', `/api/2.0/mlflow-artifacts/artifacts/${path}`, {});
    return new Uint8Array(await response.arrayBuffer());
  }

  async #json<T>(method: string, route: string, options: { query?: Query; json?: unknown }): Promise<T> {
    const response = await this.#request(method, route, options);
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  async #request(
    method: string,
    route: string,
    options: { query?: Query; json?: unknown; bytes?: Uint8Array },
  ): Promise<Response> {
    const url = new URL(this.#base + route);
    for (const [key, value] of Object.entries(options.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
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
        response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      } catch (error) {
        throw new VigilError(
          'VIGIL_COMPONENT_FAILED',
          `MLflow at ${this.#base} is not reachable (${method} ${route}): ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (response.ok) return response;
      const { errorCode, message } = await errorOf(response);
      if (attempt < this.#attempts && (response.status === 429 || response.status === 503)) {
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        continue;
      }
      if (response.status === 403 && /host header/i.test(message)) {
        throw new VigilError(
          'VIGIL_COMPONENT_FAILED',
          `MLflow at ${this.#base} refused the Host header (${message}); use 127.0.0.1/localhost or start the server with --allowed-hosts`,
        );
      }
      throw new MlflowApiError(response.status, errorCode, message, method, route);
    }
  }
}

async function errorOf(response: Response): Promise<{ errorCode: string; message: string }> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    return {
      errorCode: typeof parsed.error_code === 'string' ? parsed.error_code : `HTTP_${response.status}`,
      message: typeof parsed.message === 'string' ? parsed.message : text.trim(),
    };
  } catch {
    return { errorCode: `HTTP_${response.status}`, message: text.trim() || response.statusText };
  }
}
