import { pino } from 'pino';

/** The structured logger components receive. */
export interface Logger {
  debug(obj: Record<string, unknown> | string, msg?: string): void;
  info(obj: Record<string, unknown> | string, msg?: string): void;
  warn(obj: Record<string, unknown> | string, msg?: string): void;
  error(obj: Record<string, unknown> | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Field names that hold patient identifiers. Their values are replaced by `[redacted]`
 * at any depth, whatever the component logs.
 */
export const IDENTIFIER_FIELDS = [
  'patientId',
  'patient_id',
  'entityKey',
  'entity_key',
  'mrn',
  'subjectId',
] as const;

const identifierPattern = new RegExp(`^(${IDENTIFIER_FIELDS.join('|')})$`, 'i');

/** Deep copy of a log object with identifier fields redacted. */
export function redactIdentifiers(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { type: value.name, message: value.message, code: (value as { code?: unknown }).code };
  }
  if (Array.isArray(value)) return value.map((v) => redactIdentifiers(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = identifierPattern.test(key) ? '[redacted]' : redactIdentifiers(v, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Where JSON lines go; default stderr (stdout is reserved for command output). */
  destination?: NodeJS.WritableStream;
  /** Append JSON lines to this file instead (written synchronously, so nothing is lost on exit). */
  file?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const instance = pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      formatters: {
        log: (obj) => redactIdentifiers(obj) as Record<string, unknown>,
        bindings: (b) => redactIdentifiers(b) as Record<string, unknown>,
      },
    },
    options.file
      ? pino.destination({ dest: options.file, sync: true, mkdir: true })
      : ((options.destination ?? process.stderr) as pino.DestinationStream),
  );
  return instance as unknown as Logger;
}
