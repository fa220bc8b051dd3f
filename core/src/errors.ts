/**
 * Every error Vigil raises is a {@link VigilError} with a stable `code`.
 * Codes are `VIGIL_<AREA>_<WHAT>`; they never change meaning once released.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'Configuration failed validation; `issues` lists every problem with its path.',
  CONFIG_PARSE: 'The configuration file is not valid YAML or JSON.',
  CONFIG_ENV_MISSING: 'A ${env:NAME} reference names an environment variable that is not set.',
  CONFIG_VERSION: 'The configuration `version` is not one this core understands.',
  CONFIG_UNKNOWN_PRESET: 'The named preset is not registered.',
  REGISTRY_DUPLICATE: 'An adapter or plugin with the same port and name is already registered.',
  REGISTRY_CORE_MISMATCH: 'The component was built for a core version range this core does not satisfy.',
  REGISTRY_UNKNOWN_ADAPTER: 'No adapter with that name is registered for the port.',
  REGISTRY_UNKNOWN_PLUGIN: 'No plugin with that name is registered.',
  REGISTRY_MISSING_DEPENDENCY: 'A component depends on a port or plugin that is not configured.',
  REGISTRY_CYCLE: 'Components depend on each other in a cycle.',
  KERNEL_START_FAILED: 'A component failed to start; the ones already started were closed.',
  KERNEL_START_TIMEOUT: 'A component did not start within its timeout.',
  KERNEL_CLOSED: 'The kernel (or a component) was used after close().',
  KERNEL_NOT_STARTED: 'A port was requested before the kernel started.',
  PIPELINE_INVALID: 'A pipeline names a step twice, or a step reads an output no step declares.',
  PIPELINE_CYCLE: 'The steps of a pipeline depend on each other in a cycle.',
  PIPELINE_UNDECLARED_PORT: 'A step asked for a port it did not declare in `requires`.',
  PIPELINE_OUTPUT_MISSING: 'A step finished without producing one of its declared outputs.',
  PIPELINE_RUN_UNKNOWN: 'No run with that id exists under the workdir (nothing to resume or rebuild).',
  PIPELINE_NOT_REPRODUCIBLE: 'A rebuilt artifact does not hash to what the run recorded.',
  JOB_UNKNOWN: 'No job with that name is registered.',
  COMPONENT_FAILED: 'An adapter or plugin method failed; `cause` holds the original error.',
  SOURCE_UNKNOWN_TOPIC: 'The topic does not exist.',
  SOURCE_INVALID_OFFSET: 'The offset is outside the partition.',
  SOURCE_CONSUMER_CLOSED: 'The consumer was used after close().',
  SOURCE_READ_ONLY:
    'The source is read-only (capability `produce: false`): it cannot produce or create topics.',
  SOURCE_INVALID_REQUEST: 'A topic name, partition, record or option given to a source is invalid.',
  LAKE_NOT_FOUND: 'The ref, branch, commit or object does not exist.',
  LAKE_CONFLICT: 'A merge or branch operation conflicts with the current state.',
  LAKE_NO_CHANGES: 'A commit was requested with nothing staged.',
  LAKE_UNSUPPORTED: 'The lake store lacks the capability for this operation.',
  LAKE_INVALID_REQUEST:
    'A branch name, object path, message or metadata given to the lake store is malformed.',
  FEATURE_UNKNOWN_VIEW: 'The feature view or feature is not registered.',
  FEATURE_INVALID_REQUEST: 'A feature request is malformed.',
  FEATURE_UNSUPPORTED:
    'The feature store lacks the capability for this operation (e.g. materialize on an online-only store), or a stored value has a type it cannot read.',
  TRAINER_INVALID_DATASET: 'The training set is empty, single-class or malformed.',
  TRAINER_CANCELLED: 'Training was cancelled.',
  TRAINER_INVALID_SPEC:
    'The train spec names an unknown algorithm or parameter, or a parameter value is invalid.',
  TRAINER_WORKER_FAILED:
    "A trainer's worker process could not start, crashed, stopped answering or returned no model; the message holds its last stderr lines.",
  TRAINER_NOT_QUANTIZABLE:
    'The model has nothing int8 quantisation can rewrite (no Conv or MatMul with float weights: trees and calibrators have no int8 kernel), or it is already quantised.',
  EXPLAIN_UNSUPPORTED:
    'The model cannot be explained: its kind has no explainer, or its artifact lacks what the explainer needs (GBT trees without node cover and no rows given to count it).',
  EXPLAIN_INVALID_REQUEST:
    "The rows to explain are malformed (not rows × the model's input width), or a driver request names a row or feature that does not exist.",
  REGISTRY_NOT_FOUND: 'The run, registered model, version or alias does not exist.',
  REGISTRY_ALREADY_EXISTS: 'The registered model or experiment already exists.',
  REGISTRY_INVALID_REQUEST:
    'A registry request is malformed or conflicts with stored state (a param logged again with another value, an artifact path outside the run).',
  SERVER_UNKNOWN_MODEL: 'No model (or version) of that name is loaded.',
  SERVER_INVALID_REQUEST: 'The inference request is malformed.',
  SERVER_INVALID_ROUTE: 'The route names unloaded versions or has invalid weights.',
  SERVER_INVALID_MODEL: 'The model artifact cannot be loaded or does not match its declared tensors.',
  SERVER_UNKNOWN_ENTITY: 'An entity resolver has no such entity (the clinician endpoint answers 404).',
  SERVER_UNAUTHORIZED: 'The HTTP request carries no API key, or one the server does not know (401).',
  SERVER_FORBIDDEN: "The API key's role is too low for the endpoint (403).",
  SERVER_RATE_LIMITED: 'The API key (or client address) spent its request budget (429 with Retry-After).',
  SERVER_FEATURES_UNAVAILABLE:
    'The entity resolver (online store) failed and no fallback is set (503); the message never names the entity.',
  SERVER_FALLBACK_FAILED: 'The fallback scorer itself failed after the model, features or deadline did.',
  MONITOR_INVALID_RECORD: 'A prediction or outcome record is malformed.',
  DRIFT_INVALID_INPUT:
    'A drift test got an empty sample (after dropping null, NaN and ±Infinity, as Evidently does), a value of the wrong type, or an invalid option; the message names the argument.',
  DRIFT_UNSUPPORTED:
    'The drift test does not apply to the column (e.g. a text column, or a numerical test on a categorical column).',
  DATA_INVALID_EVENT: 'An event failed validation; it was quarantined with a reason.',
  QUEUE_INVALID_REQUEST:
    'A queue name, message or transport option given to a queue transport (MQ bridge) is invalid, or the broker refused the queue.',
} as const;

export type ErrorCode = `VIGIL_${keyof typeof ErrorCodes}`;

export interface VigilErrorOptions {
  cause?: unknown;
  /** Name of the adapter or plugin the error came from (set by the kernel). */
  component?: string;
  /** Method of the component that failed (set by the kernel). */
  method?: string;
  /** Machine-readable details (e.g. config issues). Never contains patient identifiers. */
  details?: Record<string, unknown>;
}

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly component: string | undefined;
  readonly method: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: VigilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VigilError';
    this.code = code;
    this.component = options.component;
    this.method = options.method;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      component: this.component,
      method: this.method,
      details: this.details,
    };
  }
}

export function isVigilError(error: unknown, code?: ErrorCode): error is VigilError {
  return error instanceof VigilError && (code === undefined || error.code === code);
}

/**
 * Wrap a failure from a component method, keeping the original as `cause`.
 * A VigilError keeps its code and only gains the component/method tags.
 */
export function tagError(error: unknown, component: string, method: string): VigilError {
  if (error instanceof VigilError) {
    if (error.component) return error;
    return new VigilError(error.code, error.message, {
      cause: error.cause,
      component,
      method,
      details: error.details,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new VigilError('VIGIL_COMPONENT_FAILED', `${component}.${method}: ${message}`, {
    cause: error,
    component,
    method,
  });
}
