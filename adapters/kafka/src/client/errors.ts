import { VigilError } from '@vigil/core';

/** Kafka's legal topic names (Topic.java): 1–249 of a-z A-Z 0-9 . _ -, not '.' or '..'. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export function invalidRequest(message: string): VigilError {
  return new VigilError('VIGIL_SOURCE_INVALID_REQUEST', message);
}

export function unknownTopic(topic: string): VigilError {
  return new VigilError(
    'VIGIL_SOURCE_UNKNOWN_TOPIC',
    `kafka topic ${JSON.stringify(topic)} does not exist; create it with ensureTopic()`,
  );
}

export function validateTopicName(topic: unknown, field = 'topic'): string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw invalidRequest(
      `${field} ${JSON.stringify(topic)} is not a valid Kafka topic name (1–249 of a-z A-Z 0-9 . _ -, not '.' or '..')`,
    );
  }
  return topic;
}

/** The kafkajs protocol error type (e.g. 'UNKNOWN_TOPIC_OR_PARTITION'), following causes. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/** A kafkajs failure as a VigilError (VigilErrors pass through); `what` names the operation. */
export function kafkaFailure(error: unknown, what: string, brokers: readonly string[]): VigilError {
  if (error instanceof VigilError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VigilError(
    'VIGIL_COMPONENT_FAILED',
    `kafka ${what} failed (brokers ${brokers.join(',')}): ${message}`,
    { cause: error, details: { kafkaError: kafkaErrorType(error) ?? (error as Error)?.name } },
  );
}
