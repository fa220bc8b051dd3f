/**
 * QueueSink over IBM MQ's MQI (the `ibmmq` package): each batch is put as persistent
 * messages under syncpoint and committed with MQCMIT, so `send()` resolves only once the
 * queue manager holds every message; any failure backs the unit of work out.
 *
 * MQ message ids are 24 bytes: `MsgId` is the first 24 bytes of SHA-256 of the message id
 * (stable across resends) and the full id travels in the `vigilMessageId` property.
 */
import { createHash } from 'node:crypto';
import { VigilError } from '@vigil/core';
import type { IbmMqOptions } from '../config.js';
import type { QueueMessage, QueueSink, QueueTransportCapabilities } from '../transport/queue-transport.js';
import { validateMessages, validateQueueName } from '../transport/validate.js';
import type { HConn, HObj, IbmMq } from './ibmmq-api.js';
import { connectQueueManager, disconnect, isMqError, loadIbmMq, mqFailure } from './ibmmq-connection.js';

export const ibmmqCapabilities: QueueTransportCapabilities = Object.freeze({
  persistent: true,
  brokerDeduplication: false,
});

/** IBM MQ object names: 1–48 characters from A–Z a–z 0–9 . / _ %. */
export const MQ_QUEUE_NAME = /^[A-Za-z0-9._/%]{1,48}$/;
export const MQ_QUEUE_RULE = '1–48 characters from A–Z a–z 0–9 . / _ %';
/** The property that carries the full message id (MQMD.MsgId holds only 24 bytes). */
export const MESSAGE_ID_PROPERTY = 'vigilMessageId';

export function mqMsgId(messageId: string): Buffer {
  return createHash('sha256').update(messageId).digest().subarray(0, 24);
}

interface Handles {
  hConn: HConn;
  hObj: HObj;
}

export class IbmMqQueueSink implements QueueSink {
  readonly capabilities = ibmmqCapabilities;
  readonly queue: string;
  readonly #mq: IbmMq;
  readonly #options: IbmMqOptions;
  #handles: Handles | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(mq: IbmMq, options: IbmMqOptions, queue: string) {
    this.#mq = mq;
    this.#options = options;
    this.queue = queue;
  }

  static async open(options: IbmMqOptions, queue: string): Promise<IbmMqQueueSink> {
    validateQueueName(queue, MQ_QUEUE_NAME, MQ_QUEUE_RULE);
    const mq = await loadIbmMq();
    const sink = new IbmMqQueueSink(mq, options, queue);
    sink.#handles = await sink.#open();
    return sink;
  }

  async #open(): Promise<Handles> {
    const mq = this.#mq;
    const hConn = await connectQueueManager(mq, this.#options);
    const od = new mq.MQOD();
    od.ObjectName = this.queue;
    od.ObjectType = mq.MQC.MQOT_Q;
    try {
      const hObj = await mq.OpenPromise(hConn, od, mq.MQC.MQOO_OUTPUT | mq.MQC.MQOO_FAIL_IF_QUIESCING);
      return { hConn, hObj };
    } catch (error) {
      await disconnect(mq, hConn);
      throw mqFailure(mq, `could not open queue ${this.queue} for output`, error, this.queue);
    }
  }

  send(messages: readonly QueueMessage[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new VigilError(
          'VIGIL_KERNEL_CLOSED',
          `IBM MQ sink for ${this.queue} is closed; send() is not allowed`,
        ),
      );
    }
    try {
      validateMessages(messages);
    } catch (error) {
      return Promise.reject(error);
    }
    if (messages.length === 0) return Promise.resolve();
    const run = this.#tail.then(() => this.#send(messages));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #send(messages: readonly QueueMessage[]): Promise<void> {
    const mq = this.#mq;
    this.#handles ??= await this.#open();
    const { hConn, hObj } = this.#handles;
    try {
      for (const m of messages) {
        const hMsg = mq.CrtMh(hConn, new mq.MQCMHO());
        try {
          const smpo = new mq.MQSMPO();
          mq.SetMp(hConn, hMsg, smpo, MESSAGE_ID_PROPERTY, new mq.MQPD(), m.messageId);
          for (const [name, value] of Object.entries(m.properties)) {
            mq.SetMp(hConn, hMsg, smpo, name, new mq.MQPD(), value);
          }
          const md = new mq.MQMD();
          md.MsgId = mqMsgId(m.messageId);
          md.Persistence = mq.MQC.MQPER_PERSISTENT;
          md.Format = mq.MQC.MQFMT_NONE;
          const pmo = new mq.MQPMO();
          pmo.Options = mq.MQC.MQPMO_SYNCPOINT | mq.MQC.MQPMO_FAIL_IF_QUIESCING;
          pmo.OriginalMsgHandle = hMsg;
          await mq.PutPromise(
            hObj,
            md,
            pmo,
            Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength),
          );
        } finally {
          mq.DltMh(hConn, hMsg, new mq.MQDMHO());
        }
      }
      mq.Cmit(hConn);
    } catch (error) {
      try {
        mq.Back(hConn);
      } catch {
        // The connection is gone: the queue manager backs the unit of work out itself.
      }
      if (isMqError(error) && error.mqrc === mq.MQC.MQRC_CONNECTION_BROKEN) {
        this.#handles = undefined; // reconnect on the next send
      }
      throw mqFailure(
        mq,
        `the queue manager did not take the batch of ${messages.length} for ${this.queue} (backed out; resend it)`,
        error,
        this.queue,
      );
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#tail;
      const handles = this.#handles;
      this.#handles = undefined;
      if (!handles) return;
      try {
        await this.#mq.ClosePromise(handles.hObj, 0);
      } catch {
        // Closing a handle of a broken connection fails; the disconnect below still runs.
      }
      await disconnect(this.#mq, handles.hConn);
    })();
    return this.#closing;
  }
}
