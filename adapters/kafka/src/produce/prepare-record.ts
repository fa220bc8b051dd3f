import type { ProduceRecord } from '@vigil/core';
import { invalidRequest, validateTopicName } from '../client/errors.js';

/** A validated record, ready for kafkajs; `partition` is chosen later when not explicit. */
export interface PreparedRecord {
  topic: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
  partition: number | undefined;
  /** Key and value bytes, for splitting requests. */
  bytes: number;
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Validate `records[i]`; the message names the field and the reason. */
export function prepareRecord(record: ProduceRecord, i: number, now: number): PreparedRecord {
  const at = `records[${i}]`;
  if (record === null || typeof record !== 'object') throw invalidRequest(`${at} must be an object`);
  const topic = validateTopicName(record.topic, `${at}.topic`);
  let value: Buffer;
  if (typeof record.value === 'string') value = Buffer.from(record.value, 'utf8');
  else if (record.value instanceof Uint8Array) value = asBuffer(record.value);
  else throw invalidRequest(`${at}.value must be a Uint8Array or a string`);
  const key = record.key ?? null;
  if (key !== null && typeof key !== 'string') throw invalidRequest(`${at}.key must be a string or null`);
  const headers: Record<string, string> = {};
  if (record.headers !== undefined) {
    if (record.headers === null || typeof record.headers !== 'object') {
      throw invalidRequest(`${at}.headers must be an object of strings`);
    }
    for (const [name, v] of Object.entries(record.headers)) {
      if (typeof v !== 'string') throw invalidRequest(`${at}.headers.${name} must be a string`);
      headers[name] = v;
    }
  }
  const timestamp = record.timestamp ?? now;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw invalidRequest(`${at}.timestamp must be a non-negative integer (ms since epoch), got ${timestamp}`);
  }
  if (record.partition !== undefined && (!Number.isInteger(record.partition) || record.partition < 0)) {
    throw invalidRequest(
      `${at}.partition must be a non-negative integer, got ${JSON.stringify(record.partition)}`,
    );
  }
  return {
    topic,
    key,
    value,
    headers,
    timestamp,
    partition: record.partition,
    bytes: value.byteLength + (key === null ? 0 : Buffer.byteLength(key)),
  };
}
