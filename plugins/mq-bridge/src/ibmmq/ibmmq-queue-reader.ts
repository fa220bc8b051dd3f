/**
 * QueueReader over IBM MQ's MQI: gets under syncpoint with properties in a message handle.
 * `ack()` commits; `close()` backs out what was not acknowledged (the messages return to
 * the queue with a higher BackoutCount). Gets use MQGMO_NO_WAIT and a timer between tries,
 * so they never block the event loop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { VigilError } from '@vigil/core';
import type { IbmMqOptions } from '../config.js';
import type { QueuePropertyValue, QueueReader, ReceivedQueueMessage } from '../transport/queue-transport.js';
import { validateQueueName } from '../transport/validate.js';
import type { HConn, HMsg, HObj, IbmMq } from './ibmmq-api.js';
import { connectQueueManager, disconnect, isMqError, loadIbmMq, mqFailure } from './ibmmq-connection.js';
import { MESSAGE_ID_PROPERTY, MQ_QUEUE_NAME, MQ_QUEUE_RULE } from './ibmmq-queue-sink.js';

export class IbmMqQueueReader implements QueueReader {
  readonly queue: string;
  readonly #mq: IbmMq;
  readonly #options: IbmMqOptions;
  readonly #hConn: HConn;
  readonly #hObj: HObj;
  #buffer = Buffer.alloc(64 * 1024);
  #closing: Promise<void> | undefined;

  private constructor(mq: IbmMq, options: IbmMqOptions, queue: string, hConn: HConn, hObj: HObj) {
    this.#mq = mq;
    this.#options = options;
    this.queue = queue;
    this.#hConn = hConn;
    this.#hObj = hObj;
  }

  static async open(options: IbmMqOptions, queue: string): Promise<IbmMqQueueReader> {
    validateQueueName(queue, MQ_QUEUE_NAME, MQ_QUEUE_RULE);
    const mq = await loadIbmMq();
    const hConn = await connectQueueManager(mq, options);
    const od = new mq.MQOD();
    od.ObjectName = queue;
    od.ObjectType = mq.MQC.MQOT_Q;
    try {
      const hObj = await mq.OpenPromise(
        hConn,
        od,
        mq.MQC.MQOO_INPUT_AS_Q_DEF | mq.MQC.MQOO_FAIL_IF_QUIESCING,
      );
      return new IbmMqQueueReader(mq, options, queue, hConn, hObj);
    } catch (error) {
      await disconnect(mq, hConn);
      throw mqFailure(mq, `could not open queue ${queue} for input`, error, queue);
    }
  }

  async receive(max: number, timeoutMs: number): Promise<ReceivedQueueMessage[]> {
    if (this.#closing)
      throw new VigilError('VIGIL_KERNEL_CLOSED', `IBM MQ reader for ${this.queue} is closed`);
    const mq = this.#mq;
    const out: ReceivedQueueMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    const hMsg = mq.CrtMh(this.#hConn, new mq.MQCMHO());
    try {
      while (out.length < max) {
        const got = this.#getOne(hMsg);
        if (got) {
          out.push(got);
          continue;
        }
        if (out.length > 0 || Date.now() >= deadline) break;
        await sleep(Math.min(this.#options.waitIntervalMs, Math.max(1, deadline - Date.now())));
      }
    } finally {
      mq.DltMh(this.#hConn, hMsg, new mq.MQDMHO());
    }
    return out;
  }

  /** One MQGET without waiting; undefined when the queue is empty. */
  #getOne(hMsg: HMsg): ReceivedQueueMessage | undefined {
    const mq = this.#mq;
    for (;;) {
      const md = new mq.MQMD();
      const gmo = new mq.MQGMO();
      gmo.Options =
        mq.MQC.MQGMO_SYNCPOINT |
        mq.MQC.MQGMO_NO_WAIT |
        mq.MQC.MQGMO_PROPERTIES_IN_HANDLE |
        mq.MQC.MQGMO_FAIL_IF_QUIESCING;
      gmo.MatchOptions = mq.MQC.MQMO_NONE;
      gmo.MsgHandle = hMsg;
      let length: number;
      try {
        length = mq.GetSync(this.#hObj, md, gmo, this.#buffer);
      } catch (error) {
        if (isMqError(error) && error.mqrc === mq.MQC.MQRC_NO_MSG_AVAILABLE) return undefined;
        if (isMqError(error) && error.mqrc === mq.MQC.MQRC_TRUNCATED_MSG_FAILED) {
          // The message stays on the queue; retry with a buffer that fits it.
          this.#buffer = Buffer.alloc(this.#buffer.length * 2);
          continue;
        }
        throw mqFailure(mq, `MQGET from ${this.queue} failed`, error, this.queue);
      }
      const properties = this.#properties(hMsg);
      const id = properties[MESSAGE_ID_PROPERTY];
      delete properties[MESSAGE_ID_PROPERTY];
      return {
        messageId: typeof id === 'string' ? id : md.MsgId.toString('hex'),
        body: new Uint8Array(this.#buffer.subarray(0, length)),
        properties,
        redelivered: md.BackoutCount > 0,
      };
    }
  }

  /** Every user property of the message in the handle (MQINQMP with the % wildcard). */
  #properties(hMsg: HMsg): Record<string, QueuePropertyValue> {
    const mq = this.#mq;
    const out: Record<string, QueuePropertyValue> = {};
    const impo = new mq.MQIMPO();
    const value = Buffer.alloc(16 * 1024);
    impo.Options = mq.MQC.MQIMPO_CONVERT_VALUE | mq.MQC.MQIMPO_INQ_FIRST;
    for (let more = true; more; ) {
      mq.InqMp(this.#hConn, hMsg, impo, new mq.MQPD(), '%', value, (error, name, v, length) => {
        if (error) {
          more = false;
          if (error.mqrc !== mq.MQC.MQRC_PROPERTY_NOT_AVAILABLE) {
            throw mqFailure(mq, `reading message properties from ${this.queue} failed`, error);
          }
          return;
        }
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[name] = v;
        else if (typeof v === 'bigint') out[name] = Number(v);
        else if (Buffer.isBuffer(v)) out[name] = v.subarray(0, length).toString('base64');
      });
      impo.Options = mq.MQC.MQIMPO_CONVERT_VALUE | mq.MQC.MQIMPO_INQ_NEXT;
    }
    return out;
  }

  async ack(): Promise<void> {
    if (this.#closing)
      throw new VigilError('VIGIL_KERNEL_CLOSED', `IBM MQ reader for ${this.queue} is closed`);
    try {
      this.#mq.Cmit(this.#hConn);
    } catch (error) {
      throw mqFailure(this.#mq, `MQCMIT on ${this.queue} failed`, error);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const mq = this.#mq;
      try {
        mq.Back(this.#hConn); // MQDISC would commit: back out what was not acknowledged first
      } catch {
        // A broken connection backs out on its own.
      }
      try {
        await mq.ClosePromise(this.#hObj, 0);
      } catch {
        // See above.
      }
      await disconnect(mq, this.#hConn);
    })();
    return this.#closing;
  }
}
