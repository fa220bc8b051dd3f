/**
 * QueueReader over AMQP 1.0: a receiver link with explicit credit and manual
 * acknowledgement. `ack()` accepts what was received; `close()` hands unacknowledged
 * messages back as failed deliveries (`modified`, delivery-failed), so the broker delivers
 * them again with a delivery count.
 */
import { VigilError } from '@vigil/core';
import type { Connection, Delivery, EventContext, Message, Receiver } from 'rhea';
import type { AmqpOptions } from '../config.js';
import type { QueuePropertyValue, QueueReader, ReceivedQueueMessage } from '../transport/queue-transport.js';
import { validateQueueName } from '../transport/validate.js';
import { amqpFailure, closeAmqpConnection, openAmqpConnection } from './amqp-connection.js';
import { AMQP_QUEUE_NAME, AMQP_QUEUE_RULE } from './amqp-queue-sink.js';

interface Buffered {
  delivery: Delivery;
  message: ReceivedQueueMessage;
}

/** Body bytes of a message from any AMQP publisher: data section, binary, or text value. */
function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  const content = (body as { content?: unknown }).content;
  if (content instanceof Uint8Array) return new Uint8Array(content);
  return new TextEncoder().encode(JSON.stringify(content ?? body));
}

function propertyValue(value: unknown): QueuePropertyValue | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  if (value === null || value === undefined) return undefined;
  return String(value);
}

export function decodeAmqpMessage(
  message: Message,
): Omit<ReceivedQueueMessage, 'redelivered'> & { redelivered: boolean } {
  const properties: Record<string, QueuePropertyValue> = {};
  for (const [name, value] of Object.entries(message.application_properties ?? {})) {
    const v = propertyValue(value);
    if (v !== undefined) properties[name] = v;
  }
  const id = message.message_id;
  return {
    messageId: id === undefined ? '' : Buffer.isBuffer(id) ? id.toString('hex') : String(id),
    body: bodyBytes(message.body),
    properties,
    redelivered: (message.delivery_count ?? 0) > 0,
  };
}

export class AmqpQueueReader implements QueueReader {
  readonly queue: string;
  readonly #connection: Connection;
  readonly #receiver: Receiver;
  readonly #buffer: Buffered[] = [];
  #unacked: Delivery[] = [];
  #credit = 0;
  #failure: VigilError | undefined;
  #wake: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  private constructor(queue: string, connection: Connection, receiver: Receiver) {
    this.queue = queue;
    this.#connection = connection;
    this.#receiver = receiver;
    receiver.on('message', (ctx: EventContext) => {
      this.#credit = Math.max(0, this.#credit - 1);
      if (!ctx.message || !ctx.delivery) return;
      this.#buffer.push({ delivery: ctx.delivery, message: decodeAmqpMessage(ctx.message) });
      this.#wake?.();
    });
    const fail = (error: VigilError) => {
      this.#failure ??= error;
      this.#wake?.();
    };
    receiver.on('receiver_error', (ctx: EventContext) =>
      fail(amqpFailure(`receiver on ${queue}`, ctx.receiver?.error)),
    );
    connection.on('disconnected', (ctx: EventContext) =>
      fail(amqpFailure('disconnected', ctx.error ?? 'connection lost')),
    );
  }

  static async open(options: AmqpOptions, queue: string): Promise<AmqpQueueReader> {
    validateQueueName(queue, AMQP_QUEUE_NAME, AMQP_QUEUE_RULE);
    const connection = await openAmqpConnection(options);
    try {
      const receiver = await new Promise<Receiver>((resolve, reject) => {
        const r = connection.open_receiver({
          source: { address: queue, capabilities: ['queue'] },
          credit_window: 0,
          autoaccept: false,
        });
        r.once('receiver_open', () => resolve(r));
        r.once('receiver_error', (ctx: EventContext) =>
          reject(amqpFailure(`the broker refused a receiver on ${queue}`, ctx.receiver?.error, queue)),
        );
        connection.once('disconnected', (ctx: EventContext) =>
          reject(amqpFailure('disconnected', ctx.error)),
        );
      });
      return new AmqpQueueReader(queue, connection, receiver);
    } catch (error) {
      await closeAmqpConnection(connection, 500);
      throw error;
    }
  }

  async receive(max: number, timeoutMs: number): Promise<ReceivedQueueMessage[]> {
    if (this.#closing) throw new VigilError('VIGIL_KERNEL_CLOSED', `AMQP reader for ${this.queue} is closed`);
    if (!Number.isInteger(max) || max < 1)
      throw new VigilError('VIGIL_QUEUE_INVALID_REQUEST', `max must be a positive integer, got ${max}`);
    const want = max - this.#buffer.length - this.#credit;
    if (want > 0) {
      this.#credit += want;
      this.#receiver.add_credit(want);
    }
    const deadline = Date.now() + timeoutMs;
    let lastCount = -1;
    // Wait for `max` messages, the deadline, or a short lull once some have arrived.
    while (this.#buffer.length < max && !this.#failure) {
      const now = Date.now();
      if (now >= deadline) break;
      if (this.#buffer.length > 0 && this.#buffer.length === lastCount) break;
      lastCount = this.#buffer.length;
      const wait = this.#buffer.length > 0 ? Math.min(50, deadline - now) : deadline - now;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        this.#wake = done;
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#wake = undefined;
    }
    if (this.#failure && this.#buffer.length === 0) throw this.#failure;
    const taken = this.#buffer.splice(0, max);
    this.#unacked.push(...taken.map((b) => b.delivery));
    return taken.map((b) => b.message);
  }

  async ack(): Promise<void> {
    if (this.#closing) throw new VigilError('VIGIL_KERNEL_CLOSED', `AMQP reader for ${this.queue} is closed`);
    for (const delivery of this.#unacked) delivery.accept();
    this.#unacked = [];
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Received but not acknowledged: a failed delivery (counted). Buffered, never handed out: released.
      for (const delivery of this.#unacked) delivery.modified({ delivery_failed: true });
      for (const { delivery } of this.#buffer) delivery.release();
      this.#unacked = [];
      this.#buffer.length = 0;
      await closeAmqpConnection(this.#connection);
    })();
    return this.#closing;
  }
}
