/**
 * Which consumed messages are poison: no usable id, over size, not parseable, or failing the
 * configured schema check. A poison message is dead-lettered (never dropped); a good one
 * becomes a Source record. Reasons name the field and the rule, never the offending value
 * (bodies may carry patient data).
 */
import { createHash } from 'node:crypto';
import type { RecordSchema } from '@vigil/core';
import { VigilError } from '@vigil/core';
import type { MqInboundConfig } from '../config.js';
import type { ReceivedQueueMessage } from '../transport/queue-transport.js';
import { jsonSchemaToZod } from './json-schema.js';

export const POISON_REASONS = ['too-large', 'unparseable', 'schema'] as const;
export type PoisonReason = (typeof POISON_REASONS)[number];

export type CheckedMessage =
  | { ok: true; id: string; key: string | null }
  | { ok: false; id: string; reason: PoisonReason; detail: string };

export type MessageCheck = (message: ReceivedQueueMessage) => CheckedMessage;

/** The id a message is deduplicated by: its message id, or a hash of its body when it has none. */
export function dedupeId(message: ReceivedQueueMessage): string {
  if (message.messageId.length > 0) return message.messageId;
  return `sha256:${createHash('sha256').update(message.body).digest('hex')}`;
}

function isTimestamp(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && value.length > 0 && !Number.isNaN(Date.parse(value));
}

/** The first problem of a JSON value against a job's RecordSchema, in words; undefined when it fits. */
export function recordSchemaProblem(schema: RecordSchema, value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return 'the body must be a JSON object';
  const record = value as Record<string, unknown>;
  const present = (field: string) => record[field] !== undefined && record[field] !== null;
  for (const field of schema.required) if (!present(field)) return `${field} is required`;
  for (const [field, type] of Object.entries(schema.fields)) {
    if (!present(field)) continue;
    const v = record[field];
    const ok =
      type === 'timestamp'
        ? isTimestamp(v)
        : type === 'number'
          ? typeof v === 'number' && Number.isFinite(v)
          : typeof v === type;
    if (!ok)
      return `${field} must be ${type === 'timestamp' ? 'an ISO-8601 time or epoch milliseconds' : `a ${type}`}`;
  }
  for (const [field, allowed] of Object.entries(schema.enums ?? {})) {
    if (present(field) && !allowed.includes(String(record[field]))) {
      return `${field} must be one of ${allowed.join(', ')}`;
    }
  }
  if (schema.discriminator) {
    const kind = record[schema.discriminator.field];
    const needs = typeof kind === 'string' ? schema.discriminator.kinds[kind] : undefined;
    if (!needs)
      return `${schema.discriminator.field} must be one of ${Object.keys(schema.discriminator.kinds).join(', ')}`;
    for (const field of needs)
      if (!present(field)) return `${field} is required for ${schema.discriminator.field} ${kind}`;
  }
  return undefined;
}

function jsonSchemaCheck(schema: Record<string, unknown>): (value: unknown) => string | undefined {
  const zod = jsonSchemaToZod(schema);
  return (value) => {
    const result = zod.safeParse(value);
    if (result.success) return undefined;
    const issue = result.error.issues[0];
    const at = issue?.path.length ? issue.path.join('.') : '(body)';
    return `${at}: ${issue?.code ?? 'invalid'}${issue?.message ? ` (${issue.message.replace(/, received .*$/, '')})` : ''}`;
  };
}

function keyOf(
  config: MqInboundConfig,
  message: ReceivedQueueMessage,
  id: string,
  parsed: unknown,
): string | null {
  const key = config.key;
  if (key === 'message-id') return id;
  if (key === 'none') return null;
  const value =
    'property' in key
      ? message.properties[key.property]
      : parsed !== null && typeof parsed === 'object'
        ? (parsed as Record<string, unknown>)[key.field]
        : undefined;
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The check for `config`; `jobSchema` is the configured job's RecordSchema (needed when
 * `schema: job`).
 */
export function createMessageCheck(
  config: MqInboundConfig,
  jobSchema: RecordSchema | undefined,
): MessageCheck {
  let schemaProblem: ((value: unknown) => string | undefined) | undefined;
  if (config.schema === 'job') {
    if (!jobSchema) {
      throw new VigilError(
        'VIGIL_QUEUE_INVALID_REQUEST',
        "inbound.schema 'job' checks messages against the configured job's record schema, but no job (with a schema) is configured",
      );
    }
    schemaProblem = (value) => recordSchemaProblem(jobSchema, value);
  } else if (config.schema !== undefined) {
    schemaProblem = jsonSchemaCheck(config.schema);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return (message) => {
    const id = dedupeId(message);
    if (message.body.byteLength > config.maxMessageBytes) {
      return {
        ok: false,
        id,
        reason: 'too-large',
        detail: `the body has ${message.body.byteLength} bytes, more than maxMessageBytes ${config.maxMessageBytes}`,
      };
    }
    let parsed: unknown;
    if (config.format === 'json') {
      try {
        parsed = JSON.parse(decoder.decode(message.body));
      } catch (error) {
        const what = error instanceof SyntaxError ? 'not JSON' : 'not UTF-8';
        return { ok: false, id, reason: 'unparseable', detail: `the body is ${what}` };
      }
      const problem = schemaProblem?.(parsed);
      if (problem !== undefined) return { ok: false, id, reason: 'schema', detail: problem };
    }
    return { ok: true, id, key: keyOf(config, message, id, parsed) };
  };
}
