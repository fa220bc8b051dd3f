/** A non-2xx answer from the lakeFS API: the HTTP status and lakeFS's own message. */
export class LakeFsApiError extends Error {
  readonly status: number;
  /** lakeFS's `message` field (or the raw body when it is not JSON). */
  readonly serverMessage: string;
  readonly method: string;
  readonly route: string;

  constructor(status: number, serverMessage: string, method: string, route: string) {
    super(`lakeFS ${method} ${route} answered ${status}: ${serverMessage}`);
    this.name = 'LakeFsApiError';
    this.status = status;
    this.serverMessage = serverMessage;
    this.method = method;
    this.route = route;
  }
}

export function isLakeFsApiError(error: unknown, status?: number): error is LakeFsApiError {
  return error instanceof LakeFsApiError && (status === undefined || error.status === status);
}
