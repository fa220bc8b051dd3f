import type { SourceRecord } from '@vigil/core';
import type { QueueMessage } from '../transport/queue-transport.js';

/**
 * The queue message for a Source record. Its id is the record's position,
 * `<topic>/<partition>/<offset>`: a record resent after a crash carries the same id, so a
 * consumer of the queue can drop duplicates. The position, key, timestamp and headers
 * travel as properties; the value is the body, byte for byte.
 */
export function recordMessage(record: SourceRecord): QueueMessage {
  const properties: QueueMessage['properties'] = {
    vigilTopic: record.topic,
    vigilPartition: record.partition,
    vigilOffset: record.offset,
    vigilTimestamp: record.timestamp,
  };
  if (record.key !== null) properties.vigilKey = record.key;
  if (Object.keys(record.headers).length > 0) properties.vigilHeaders = JSON.stringify(record.headers);
  return { messageId: recordMessageId(record), body: record.value, properties };
}

export function recordMessageId(position: { topic: string; partition: number; offset: string }): string {
  return `${position.topic}/${position.partition}/${position.offset}`;
}
