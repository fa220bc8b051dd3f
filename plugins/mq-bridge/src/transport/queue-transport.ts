/**
 * The queue transport the MQ bridge sends through: a narrow interface with one
 * implementation per protocol (AMQP 1.0, IBM MQ's MQI). `QueueSink` is what the bridge
 * uses; `QueueReader` is how tests and downstream consumers take messages off the queue.
 *
 * Delivery: `send()` resolves only once the broker accepted every message durably (AMQP:
 * an `accepted` disposition for a durable message; MQI: a persistent put under syncpoint,
 * committed). Anything else rejects, and the caller resends: a resent message keeps its
 * `messageId`, so duplicates are detectable downstream.
 */

/** Values a message property may hold (what AMQP application properties and MQ properties share). */
export type QueuePropertyValue = string | number | boolean;

export interface QueueMessage {
  /** Unique id; a resent message keeps it (the bridge uses `<topic>/<partition>/<offset>`). */
  messageId: string;
  body: Uint8Array;
  /** Names are identifiers (`[A-Za-z_][A-Za-z0-9_]*`), as both AMQP/JMS and MQ accept them. */
  properties: Record<string, QueuePropertyValue>;
}

export interface ReceivedQueueMessage extends QueueMessage {
  /** True when the broker delivered this message before to a client that did not acknowledge it. */
  redelivered: boolean;
}

export interface QueueTransportCapabilities {
  /** Messages are stored persistently by the broker (survive a broker restart). */
  persistent: boolean;
  /** The broker can tell a resent message by id on its own (the bridge does not rely on it). */
  brokerDeduplication: boolean;
}

export interface QueueSink {
  readonly capabilities: QueueTransportCapabilities;
  /** Queue the messages go to. */
  readonly queue: string;
  /**
   * Send a batch, in order. Resolves only when the broker accepted (durably stored) every
   * message; rejects otherwise — some may then be stored, so resend the whole batch.
   */
  send(messages: readonly QueueMessage[]): Promise<void>;
  /** Close the connection this sink opened. Idempotent. */
  close(): Promise<void>;
}

export interface QueueReader {
  readonly queue: string;
  /** Up to `max` messages, waiting at most `timeoutMs` for them. */
  receive(max: number, timeoutMs: number): Promise<ReceivedQueueMessage[]>;
  /** Acknowledge every message received so far; the broker removes them. */
  ack(): Promise<void>;
  /** Close; messages received and not acknowledged go back to the queue, marked redelivered. Idempotent. */
  close(): Promise<void>;
}
