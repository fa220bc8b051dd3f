/**
 * Loading `ibmmq` (an optional peer dependency) on first use, connecting to a queue
 * manager, and turning MQI failures into VigilErrors.
 */
import { VigilError } from '@vigil/core';
import type { IbmMqOptions } from '../config.js';
import { invalidRequest } from '../transport/validate.js';
import type { HConn, IbmMq, MqError } from './ibmmq-api.js';

let loaded: Promise<IbmMq> | undefined;

/** The `ibmmq` package, imported once, only when a transport needs it. */
export function loadIbmMq(): Promise<IbmMq> {
  // A variable specifier: TypeScript does not resolve it, so the package need not be installed.
  const specifier = 'ibmmq';
  loaded ??= import(specifier).then(
    (m: { default?: IbmMq } & IbmMq) => m.default ?? m,
    (error: unknown) => {
      loaded = undefined;
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      const missing =
        code === 'ERR_MODULE_NOT_FOUND' ||
        code === 'MODULE_NOT_FOUND' ||
        /cannot find (module|package) '?"?ibmmq|could not resolve "ibmmq"/i.test(message);
      throw new VigilError(
        'VIGIL_COMPONENT_FAILED',
        missing
          ? "transport 'ibmmq' needs the optional package ibmmq: run `npm install ibmmq` (it fetches IBM's MQ C client; see docs/adapters/mq-bridge.md), or use transport 'amqp' with an IBM MQ AMQP channel"
          : `could not load the ibmmq package: ${message}`,
        { cause: error },
      );
    },
  );
  return loaded;
}

export function isMqError(error: unknown): error is MqError {
  return error instanceof Error && typeof (error as { mqrc?: unknown }).mqrc === 'number';
}

/** A VigilError for an MQI failure; an unknown queue is an invalid request naming it. */
export function mqFailure(mq: IbmMq, what: string, error: unknown, queue?: string): VigilError {
  if (!isMqError(error)) {
    return new VigilError(
      'VIGIL_COMPONENT_FAILED',
      `${what}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  const reason = `MQCC=${error.mqcc} MQRC=${error.mqrc}${error.mqrcstr ? ` ${error.mqrcstr}` : ''}`;
  if (queue !== undefined && error.mqrc === mq.MQC.MQRC_UNKNOWN_OBJECT_NAME) {
    return invalidRequest(
      `queue ${JSON.stringify(queue)} does not exist on the queue manager (${reason})`,
      error,
    );
  }
  return new VigilError('VIGIL_COMPONENT_FAILED', `${what}: ${reason}`, {
    cause: error,
    details: { mqrc: error.mqrc, mqcc: error.mqcc },
  });
}

/** Connect in client mode (channel + connName) or with local bindings. */
export async function connectQueueManager(mq: IbmMq, options: IbmMqOptions): Promise<HConn> {
  const cno = new mq.MQCNO();
  cno.Options = mq.MQC.MQCNO_NONE;
  if (options.channel !== undefined && options.connName !== undefined) {
    const cd = new mq.MQCD();
    cd.ChannelName = options.channel;
    cd.ConnectionName = options.connName;
    cno.ClientConn = cd;
    cno.Options |= mq.MQC.MQCNO_CLIENT_BINDING;
  }
  if (options.username !== undefined) {
    const csp = new mq.MQCSP();
    csp.UserId = options.username;
    csp.Password = options.password ?? '';
    cno.SecurityParms = csp;
  }
  try {
    return await mq.ConnxPromise(options.queueManager, cno);
  } catch (error) {
    const where = options.connName
      ? `${options.queueManager} at ${options.connName} (${options.channel})`
      : options.queueManager;
    throw mqFailure(mq, `could not connect to queue manager ${where}`, error);
  }
}

export async function disconnect(mq: IbmMq, hConn: HConn): Promise<void> {
  try {
    await mq.DiscPromise(hConn);
  } catch {
    // Already gone: nothing to release.
  }
}
