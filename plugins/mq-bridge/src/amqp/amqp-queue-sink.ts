/**
 * QueueSink over AMQP 1.0 (rhea): durable messages with `message_id` set, sent on an
 * unsettled link to a queue (target capability `queue`), each batch resolving only when
 * the broker settled every message with `accepted`. A broken connection fails the batch
 * in flight; the next send reconnects.
 */
import { VigilError } from '@vigil/core';
import type { Connection, Delivery, EventContext, Message, Sender } from 'rhea';
import type { AmqpOptions } from '../config.js';
import type { QueueMessage, QueueSink, QueueTransportCapabilities } from '../transport/queue-transport.js';
import { validateMessages, validateQueueName } from '../transport/validate.js';
import {
  amqpFailure,
  closeAmqpConnection,
  describeAmqpError,
  endpoint,
  loadRhea,
  openAmqpConnection,
} from './amqp-connection.js';

export const amqpCapabilities: QueueTransportCapabilities = Object.freeze({
  persistent: true,
  brokerDeduplication: false,
});

/** AMQP addresses: printable, no spaces or wildcards, at most 255 characters. */
export const AMQP_QUEUE_NAME = /^[A-Za-z0-9._:/-]{1,255}$/;
export const AMQP_QUEUE_RULE = '1–255 characters from A–Z a–z 0–9 . _ : / -';

interface Link {
  connection: Connection;
  sender: Sender;
  /** Set when the connection or link went away; the next send opens a new one. */
  broken: VigilError | undefined;
  /** The batch in flight is told when the link breaks. */
  onBreak: ((error: VigilError) => void) | undefined;
}

export class AmqpQueueSink implements QueueSink {
  readonly capabilities = amqpCapabilities;
  readonly queue: string;
  readonly #options: AmqpOptions;
  #link: Link | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(options: AmqpOptions, queue: string) {
    this.#options = options;
    this.queue = queue;
  }

  /** Validate the queue name and connect (so bad credentials or hosts fail here). */
  static async open(options: AmqpOptions, queue: string): Promise<AmqpQueueSink> {
    validateQueueName(queue, AMQP_QUEUE_NAME, AMQP_QUEUE_RULE);
    const sink = new AmqpQueueSink(options, queue);
    sink.#link = await sink.#attach();
    return sink;
  }

  send(messages: readonly QueueMessage[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new VigilError('VIGIL_KERNEL_CLOSED', `AMQP sink for ${this.queue} is closed; send() is not allowed`),
      );
    }
    try {
      validateMessages(messages);
    } catch (error) {
      return Promise.reject(error);
    }
    if (messages.length === 0) return Promise.resolve();
    // One batch at a time keeps the queue in send order.
    const run = this.#tail.then(() => this.#send(messages));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #send(messages: readonly QueueMessage[]): Promise<void> {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', `AMQP sink for ${this.queue} is closed`);
    if (!this.#link || this.#link.broken) {
      const old = this.#link;
      this.#link = undefined;
      if (old) await closeAmqpConnection(old.connection, 500);
      this.#link = await this.#attach();
    }
    const { message } = await loadRhea();
    const link = this.#link;
    const encoded: Message[] = messages.map((m) => ({
      message_id: m.messageId,
      durable: true,
      content_type: 'application/octet-stream',
      application_properties: { ...m.properties },
      body: message.data_section(Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength)),
    }));
    await this.#deliver(link, encoded);
  }

  /** Send every message, waiting for credit, and resolve when all were accepted. */
  #deliver(link: Link, encoded: Message[]): Promise<void> {
    const { sender } = link;
    const total = encoded.length;
    return new Promise<void>((resolve, reject) => {
      const index = new Map<Delivery, number>();
      const refused: { index: number; outcome: string; reason: string }[] = [];
      let next = 0;
      let settled = 0;
      let finished = false;
      const finish = (error?: VigilError) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        for (const [event, handler] of handlers) sender.removeListener(event, handler);
        link.onBreak = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onSettled = (outcome: string) => (ctx: EventContext) => {
        const i = ctx.delivery ? index.get(ctx.delivery) : undefined;
        if (i === undefined) return;
        index.delete(ctx.delivery!);
        settled += 1;
        if (outcome !== 'accepted') {
          const state = ctx.delivery!.remote_state as { error?: unknown } | undefined;
          refused.push({
            index: i,
            outcome,
            reason: state?.error ? describeAmqpError(state.error) : outcome,
          });
        }
        if (settled === total) {
          if (refused.length === 0) return finish();
          const first = refused.sort((a, b) => a.index - b.index)[0]!;
          finish(
            new VigilError(
              'VIGIL_COMPONENT_FAILED',
              `the broker did not accept ${refused.length} of ${total} messages for queue ${this.queue} (first: messages[${first.index}] ${first.outcome}: ${first.reason}); resend the batch — the accepted ones carry the same message ids`,
              { details: { queue: this.queue, refused: refused.length, accepted: total - refused.length } },
            ),
          );
        }
      };
      const pump = () => {
        while (next < total && sender.sendable()) {
          const delivery = sender.send(encoded[next]!);
          index.set(delivery, next);
          next += 1;
        }
      };
      const handlers: [string, (ctx: EventContext) => void][] = [
        ['accepted', onSettled('accepted')],
        ['rejected', onSettled('rejected')],
        ['released', onSettled('released')],
        ['modified', onSettled('modified')],
        ['sendable', pump],
      ];
      for (const [event, handler] of handlers) sender.on(event, handler);
      const timer = setTimeout(() => {
        // The outcome of the unsettled messages is unknown: drop the link so nothing stale arrives later.
        link.broken ??= new VigilError('VIGIL_COMPONENT_FAILED', 'send timed out');
        void closeAmqpConnection(link.connection, 500);
        finish(
          new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `the broker settled ${settled} of ${total} messages for queue ${this.queue} within ${this.#options.sendTimeoutMs} ms; resend the batch`,
            { details: { queue: this.queue, settled, total } },
          ),
        );
      }, this.#options.sendTimeoutMs);
      link.onBreak = (error) =>
        finish(
          new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `lost the link to ${endpoint(this.#options)} with ${total - settled} of ${total} messages unsettled (${error.message}); resend the batch — duplicates carry the same message ids`,
            { cause: error, details: { queue: this.queue, settled, total } },
          ),
        );
      if (link.broken) return link.onBreak(link.broken);
      pump();
    });
  }

  /** Open a connection and a sender link on the queue; wait until the broker attached it. */
  async #attach(): Promise<Link> {
    const connection = await openAmqpConnection(this.#options);
    const link: Link = {
      connection,
      sender: undefined as unknown as Sender,
      broken: undefined,
      onBreak: undefined,
    };
    const breakLink = (error: VigilError) => {
      link.broken ??= error;
      link.onBreak?.(link.broken);
    };
    connection.on('disconnected', (ctx: EventContext) =>
      breakLink(amqpFailure('disconnected', ctx.error ?? 'connection lost')),
    );
    connection.on('connection_close', (ctx: EventContext) =>
      breakLink(amqpFailure('the broker closed the connection', ctx.connection.error ?? 'closed')),
    );
    try {
      link.sender = await new Promise<Sender>((resolve, reject) => {
        const sender = connection.open_sender({
          target: { address: this.queue, capabilities: ['queue'] },
          autosettle: true,
        });
        const fail = (error: VigilError) => {
          breakLink(error);
          reject(error);
        };
        sender.once('sender_open', () => resolve(sender));
        sender.on('sender_error', (ctx: EventContext) =>
          fail(amqpFailure(`the broker refused a sender on ${this.queue}`, ctx.sender?.error, this.queue)),
        );
        sender.on('sender_close', (ctx: EventContext) =>
          fail(
            amqpFailure(
              `the broker detached the sender on ${this.queue}`,
              ctx.sender?.error ?? 'detached',
              this.queue,
            ),
          ),
        );
        connection.once('disconnected', () => reject(link.broken ?? new Error('disconnected')));
      });
    } catch (error) {
      await closeAmqpConnection(connection, 500);
      throw error;
    }
    return link;
  }

  /** Wait for the batch in flight, then close the connection. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#tail;
      const link = this.#link;
      this.#link = undefined;
      if (link) await closeAmqpConnection(link.connection);
    })();
    return this.#closing;
  }
}
