import { VigilError } from '@vigil/core';
import type { QueueMessage } from './queue-transport.js';

const propertyName = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function invalidRequest(message: string, cause?: unknown): VigilError {
  return new VigilError('VIGIL_QUEUE_INVALID_REQUEST', message, cause === undefined ? {} : { cause });
}

/**
 * Check a queue name against a transport's rule before anything reaches the broker.
 * `rule` describes the allowed names in words, for the message.
 */
export function validateQueueName(queue: unknown, pattern: RegExp, rule: string): string {
  if (typeof queue !== 'string' || !pattern.test(queue)) {
    throw invalidRequest(`queue ${JSON.stringify(queue)} is not a valid queue name: ${rule}`);
  }
  return queue;
}

/** Check a whole batch before sending any of it; the error names the first bad field. */
export function validateMessages(messages: readonly QueueMessage[]): void {
  if (!Array.isArray(messages)) throw invalidRequest('messages must be an array');
  for (const [i, m] of messages.entries()) {
    const at = `messages[${i}]`;
    if (m === null || typeof m !== 'object') throw invalidRequest(`${at} must be an object`);
    if (typeof m.messageId !== 'string' || m.messageId.length === 0 || m.messageId.length > 1024) {
      throw invalidRequest(`${at}.messageId must be a non-empty string of at most 1024 characters`);
    }
    if (!(m.body instanceof Uint8Array)) throw invalidRequest(`${at}.body must be a Uint8Array`);
    if (m.properties === null || typeof m.properties !== 'object' || Array.isArray(m.properties)) {
      throw invalidRequest(`${at}.properties must be an object`);
    }
    for (const [name, value] of Object.entries(m.properties)) {
      if (!propertyName.test(name)) {
        throw invalidRequest(
          `${at}.properties: ${JSON.stringify(name)} is not a valid property name (letters, digits and _, not starting with a digit)`,
        );
      }
      const ok =
        typeof value === 'string' ||
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value));
      if (!ok)
        throw invalidRequest(`${at}.properties.${name} must be a string, a finite number or a boolean`);
    }
  }
}
