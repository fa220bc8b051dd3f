/**
 * The gateway's stable error codes, each with the HTTP status its control API answers.
 * Codes follow Vigil's `VIGIL_<AREA>_<WHAT>` and never change meaning once released.
 */
export const GatewayErrorCodes = {
  VIGIL_GATEWAY_INVALID_REQUEST: {
    status: 400,
    meaning: 'A control request body or a gateway option is malformed; the message names the field.',
  },
  VIGIL_GATEWAY_UNAUTHORIZED: {
    status: 401,
    meaning: 'A control request carries no API key, or one the gateway does not know.',
  },
  VIGIL_GATEWAY_FORBIDDEN: {
    status: 403,
    meaning: "The API key's role is too low for the control endpoint.",
  },
  VIGIL_GATEWAY_NOT_FOUND: { status: 404, meaning: 'No control endpoint of that path.' },
  VIGIL_GATEWAY_METHOD_NOT_ALLOWED: {
    status: 405,
    meaning: 'The control endpoint does not take that method.',
  },
  VIGIL_GATEWAY_NOT_STAGED: { status: 409, meaning: 'The color has no upstream registered.' },
  VIGIL_GATEWAY_ACTIVE_COLOR: {
    status: 409,
    meaning: 'The color serves live traffic; it cannot be re-staged (stage the other color).',
  },
  VIGIL_GATEWAY_NOT_CHECKED: { status: 409, meaning: 'The color was never checked since it was staged.' },
  VIGIL_GATEWAY_CHECK_FAILED: { status: 409, meaning: "The color's last check failed; switch refused." },
  VIGIL_GATEWAY_CHECK_STALE: {
    status: 409,
    meaning: "The color's last check is older than check.maxAgeMs; switch refused.",
  },
  VIGIL_GATEWAY_NO_PREVIOUS: { status: 409, meaning: 'There is no previous color to roll back to.' },
  VIGIL_GATEWAY_BODY_TOO_LARGE: { status: 413, meaning: 'The request body exceeds maxBodyBytes.' },
  VIGIL_GATEWAY_NO_UPSTREAM: { status: 503, meaning: 'No color is active: stage one and switch to it.' },
  VIGIL_GATEWAY_UPSTREAM_UNREACHABLE: {
    status: 502,
    meaning: 'The active upstream could not be reached (connection refused, reset, DNS).',
  },
  VIGIL_GATEWAY_UPSTREAM_TIMEOUT: {
    status: 504,
    meaning: 'The active upstream sent no answer within upstreamTimeoutMs.',
  },
} as const;

export type GatewayErrorCode = keyof typeof GatewayErrorCodes;

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: GatewayErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = GatewayErrorCodes[code].status;
    this.details = options.details;
  }
}

export function isGatewayError(error: unknown, code?: GatewayErrorCode): error is GatewayError {
  return error instanceof GatewayError && (code === undefined || error.code === code);
}
