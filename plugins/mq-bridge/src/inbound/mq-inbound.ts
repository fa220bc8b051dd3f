/**
 * The inbound direction of the MQ bridge: consumes queues into Source topics, exactly once
 * per message id.
 *
 * One batch of one route: receive up to `batchSize` messages (unacknowledged) → classify
 * each: a duplicate (its id is in the message-id index, or earlier in the batch), poison
 * (dead-lettered) or good → produce the good ones to the route's topic and the poison ones
 * to the dead-letter topic, in one `produce`, each with its id in a header → once the Source
 * has them durably, add the ids to the index → acknowledge the batch.
 *
 * A crash before the acknowledgement makes the broker deliver the batch again; the next
 * process rebuilds the index from the Source's own headers first, so what reached the
 * Source is dropped as a duplicate and the rest is produced: every message lands once. A
 * failed produce (which may have stored part of the batch) refreshes the index from the
 * Source and retries the same messages with backoff; a broken receive or acknowledgement
 * (broker gone) reopens the reader, and the broker delivers the unacknowledged messages
 * again.
 *
 * One bridge process per queue: the index knows only what this process and the Source's
 * history tell it, so two bridges consuming one queue at once could both produce a
 * message that the broker redelivered to the second.
 */
import type { Logger, ProduceRecord, Source } from '@vigil/core';
import { VigilError } from '@vigil/core';
import type { QueueReader, ReceivedQueueMessage } from '../transport/queue-transport.js';
import { mqFaultPoint } from './fault-point.js';
import {
  DEAD_LETTER_DETAIL_HEADER,
  DEAD_LETTER_REASON_HEADER,
  MESSAGE_ID_HEADER,
  PROPERTY_HEADER_PREFIX,
  QUEUE_HEADER,
  TARGET_TOPIC_HEADER,
} from './headers.js';
import type { MessageCheck, PoisonReason } from './message-check.js';
import { POISON_REASONS } from './message-check.js';
import { MessageIndex } from './message-index.js';

export interface InboundRoute {
  queue: string;
  topic: string;
}

export interface MqInboundOptions {
  source: Source;
  /** Opens a reader of a queue over the configured transport. */
  openReader(queue: string): Promise<QueueReader>;
  routes: readonly InboundRoute[];
  deadLetterTopic: string;
  /** Consumer group the message-id index reads the bridge's topics with (never commits). */
  group: string;
  check: MessageCheck;
  batchSize?: number;
  receiveTimeoutMs?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  logger: Logger;
}

export interface InboundCounts {
  /** Messages received from the queues (redeliveries included). */
  received: number;
  /** Good messages produced to their topic. */
  forwarded: number;
  /** Messages dropped because their id was already in the Source (or earlier in the batch). */
  duplicates: number;
  /** Received messages the broker marked as redelivered. */
  redelivered: number;
  /** Poison messages produced to the dead-letter topic, by reason. */
  deadLettered: Record<PoisonReason, number>;
}

export interface InboundStats extends InboundCounts {
  /** Batches (or reader connections) that failed and were retried. */
  failures: number;
  lastError: string | undefined;
}

export interface InboundBatchResult extends InboundCounts {
  queue: string;
}

interface RouteState {
  route: InboundRoute;
  reader: QueueReader | undefined;
  /** The batch in flight (stop() waits for it). */
  cycle: Promise<unknown>;
}

interface Plan {
  records: ProduceRecord[];
  ids: string[];
  counts: InboundCounts;
}

function zeroCounts(): InboundCounts {
  return {
    received: 0,
    forwarded: 0,
    duplicates: 0,
    redelivered: 0,
    deadLettered: Object.fromEntries(POISON_REASONS.map((r) => [r, 0])) as Record<PoisonReason, number>,
  };
}

function addCounts(into: InboundCounts, from: InboundCounts): void {
  into.received += from.received;
  into.forwarded += from.forwarded;
  into.duplicates += from.duplicates;
  into.redelivered += from.redelivered;
  for (const r of POISON_REASONS) into.deadLettered[r] += from.deadLettered[r];
}

function headersOf(message: ReceivedQueueMessage, queue: string, id: string): Record<string, string> {
  const headers: Record<string, string> = { [MESSAGE_ID_HEADER]: id, [QUEUE_HEADER]: queue };
  for (const [name, value] of Object.entries(message.properties)) {
    headers[`${PROPERTY_HEADER_PREFIX}${name}`] = String(value);
  }
  return headers;
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

export class MqInbound {
  readonly #options: Required<MqInboundOptions>;
  readonly #index: MessageIndex;
  readonly #routes: RouteState[];
  readonly #stopping = new AbortController();
  #ready: Promise<void> | undefined;
  #loops: Promise<void>[] | undefined;
  #closed = false;
  readonly #stats: InboundStats = { ...zeroCounts(), failures: 0, lastError: undefined };

  constructor(options: MqInboundOptions) {
    if (options.routes.length === 0) {
      throw new VigilError('VIGIL_QUEUE_INVALID_REQUEST', 'inbound needs at least one route (queue → topic)');
    }
    this.#options = {
      batchSize: 200,
      receiveTimeoutMs: 1_000,
      retryDelayMs: 1_000,
      maxRetryDelayMs: 30_000,
      ...options,
    };
    const topics = [...new Set([...options.routes.map((r) => r.topic), options.deadLetterTopic])];
    this.#index = new MessageIndex({
      source: options.source,
      topics,
      group: options.group,
      logger: options.logger,
    });
    this.#routes = options.routes.map((route) => ({ route, reader: undefined, cycle: Promise.resolve() }));
  }

  get stats(): Readonly<InboundStats> {
    return { ...this.#stats, deadLettered: { ...this.#stats.deadLettered } };
  }

  get running(): boolean {
    return this.#loops !== undefined;
  }

  /** Create the topics (idempotent) and read the message-id index from the Source, once. */
  #prepare(): Promise<void> {
    this.#ready ??= (async () => {
      const { source, routes, deadLetterTopic } = this.#options;
      for (const topic of new Set([...routes.map((r) => r.topic), deadLetterTopic])) {
        await source.ensureTopic(topic);
      }
      await this.#index.refresh();
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /**
   * Open a reader on every route's queue now, so a wrong address, queue or credential fails
   * at start (a reader that breaks later is reopened by the next batch).
   */
  async connect(): Promise<void> {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'the MQ bridge (inbound) is stopped');
    for (const state of this.#routes) state.reader ??= await this.#options.openReader(state.route.queue);
  }

  /**
   * One batch of every route, one route after the other; resolves with what each did
   * (all zero when its queue was empty for `timeoutMs`).
   */
  async drainOnce(timeoutMs = this.#options.receiveTimeoutMs): Promise<InboundBatchResult[]> {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'the MQ bridge (inbound) is stopped');
    const out: InboundBatchResult[] = [];
    for (const state of this.#routes) {
      const run = state.cycle.catch(() => undefined).then(() => this.#batch(state, timeoutMs));
      state.cycle = run;
      out.push(await run);
    }
    return out;
  }

  async #batch(state: RouteState, timeoutMs: number): Promise<InboundBatchResult> {
    const { route } = state;
    await this.#prepare();
    try {
      state.reader ??= await this.#options.openReader(route.queue);
      const messages = await state.reader.receive(this.#options.batchSize, timeoutMs);
      if (messages.length === 0) return { queue: route.queue, ...zeroCounts() };
      mqFaultPoint('mq-before-produce');
      const plan = await this.#produce(route, messages);
      mqFaultPoint('mq-after-produce');
      await state.reader.ack();
      mqFaultPoint('mq-after-ack');
      addCounts(this.#stats, plan.counts);
      this.#stats.lastError = undefined;
      return { queue: route.queue, ...plan.counts };
    } catch (error) {
      // Unacknowledged messages go back to the queue; the next batch opens a new reader.
      const reader = state.reader;
      state.reader = undefined;
      await reader?.close().catch(() => undefined);
      throw error;
    }
  }

  /** Classify the batch against the index (and itself). */
  #plan(route: InboundRoute, messages: readonly ReceivedQueueMessage[]): Plan {
    const counts = zeroCounts();
    const records: ProduceRecord[] = [];
    const ids: string[] = [];
    const inBatch = new Set<string>();
    for (const message of messages) {
      counts.received += 1;
      if (message.redelivered) counts.redelivered += 1;
      const checked = this.#options.check(message);
      if (this.#index.has(route.queue, checked.id) || inBatch.has(checked.id)) {
        counts.duplicates += 1;
        continue;
      }
      inBatch.add(checked.id);
      ids.push(checked.id);
      const headers = headersOf(message, route.queue, checked.id);
      if (checked.ok) {
        counts.forwarded += 1;
        records.push({ topic: route.topic, key: checked.key, value: message.body, headers });
      } else {
        counts.deadLettered[checked.reason] += 1;
        records.push({
          topic: this.#options.deadLetterTopic,
          key: checked.id,
          value: message.body,
          headers: {
            ...headers,
            [DEAD_LETTER_REASON_HEADER]: checked.reason,
            [DEAD_LETTER_DETAIL_HEADER]: checked.detail,
            [TARGET_TOPIC_HEADER]: route.topic,
          },
        });
      }
    }
    return { records, ids, counts };
  }

  /**
   * Produce the batch; on failure (part of it may be stored) refresh the index from the
   * Source, re-plan and retry with backoff until it succeeds or the bridge stops.
   */
  async #produce(route: InboundRoute, messages: readonly ReceivedQueueMessage[]): Promise<Plan> {
    const { source, logger, retryDelayMs, maxRetryDelayMs } = this.#options;
    let delay = retryDelayMs;
    let plan = this.#plan(route, messages);
    for (;;) {
      try {
        if (plan.records.length > 0) await source.produce(plan.records);
        for (const id of plan.ids) this.#index.add(route.queue, id);
        return plan;
      } catch (error) {
        this.#stats.failures += 1;
        this.#stats.lastError = error instanceof Error ? error.message : String(error);
        if (this.#stopping.signal.aborted) throw error;
        logger.warn(
          { err: error, queue: route.queue, retryInMs: delay },
          'mq-bridge inbound: produce failed; re-reading the Source and retrying the batch',
        );
        await abortable(delay, this.#stopping.signal);
        if (this.#stopping.signal.aborted) throw error;
        delay = Math.min(delay * 2, maxRetryDelayMs);
        try {
          await this.#index.refresh();
        } catch (refreshError) {
          logger.warn({ err: refreshError }, 'mq-bridge inbound: could not re-read the Source yet');
          continue;
        }
        plan = this.#plan(route, messages);
      }
    }
  }

  /** Consume every route continuously until `stop()`; failures are retried with backoff. */
  start(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'the MQ bridge (inbound) is stopped');
    if (this.#loops) return;
    this.#loops = this.#routes.map((state) => this.#run(state));
  }

  async #run(state: RouteState): Promise<void> {
    const { logger, retryDelayMs, maxRetryDelayMs, receiveTimeoutMs } = this.#options;
    const signal = this.#stopping.signal;
    let delay = retryDelayMs;
    let idle = false;
    while (!signal.aborted) {
      try {
        const run = state.cycle.catch(() => undefined).then(() => this.#batch(state, receiveTimeoutMs));
        state.cycle = run;
        const result = await run;
        delay = retryDelayMs;
        if (result.received > 0) {
          idle = false;
          logger.info({ ...result, totals: this.stats }, 'mq-bridge inbound batch');
        } else if (!idle) {
          idle = true;
          logger.info({ queue: state.route.queue, totals: this.stats }, 'mq-bridge inbound idle');
        }
      } catch (error) {
        if (signal.aborted) break;
        this.#stats.failures += 1;
        this.#stats.lastError = error instanceof Error ? error.message : String(error);
        logger.warn(
          { err: error, queue: state.route.queue, retryInMs: delay },
          'mq-bridge inbound batch failed; the broker will deliver it again',
        );
        await abortable(delay, signal);
        delay = Math.min(delay * 2, maxRetryDelayMs);
      }
    }
  }

  /** Stop: let each batch in flight finish (produce and acknowledge), then close the readers. Idempotent. */
  async stop(): Promise<void> {
    this.#closed = true;
    this.#stopping.abort();
    await Promise.all(this.#loops ?? []);
    for (const state of this.#routes) {
      await state.cycle.catch(() => undefined);
      const reader = state.reader;
      state.reader = undefined;
      await reader?.close().catch(() => undefined);
    }
  }
}
