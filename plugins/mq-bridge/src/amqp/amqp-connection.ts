/**
 * Opening an AMQP 1.0 connection with rhea (loaded on first use) and turning rhea's
 * errors into VigilErrors. Automatic reconnect is off: the sink reconnects on its next
 * send, so an interrupted batch fails visibly and is resent whole.
 */
import { randomUUID } from 'node:crypto';
import { VigilError } from '@vigil/core';
import type { Connection, ConnectionOptions, EventContext } from 'rhea';
import type { AmqpOptions } from '../config.js';
import { invalidRequest } from '../transport/validate.js';

type Rhea = typeof import('rhea');

let rhea: Promise<Rhea> | undefined;

/** rhea, imported once, on first use. */
export function loadRhea(): Promise<Rhea> {
  rhea ??= import('rhea').then((m) => (m as unknown as { default: Rhea }).default ?? (m as unknown as Rhea));
  return rhea;
}

/** `condition: description` of an AMQP error (or the message of any other error). */
export function describeAmqpError(error: unknown): string {
  if (error && typeof error === 'object') {
    const { condition, description, message } = error as {
      condition?: unknown;
      description?: unknown;
      message?: unknown;
    };
    if (typeof condition === 'string')
      return typeof description === 'string' ? `${condition}: ${description}` : condition;
    if (typeof message === 'string') return message;
  }
  return String(error);
}

function conditionOf(error: unknown): string | undefined {
  const condition = (error as { condition?: unknown } | null | undefined)?.condition;
  return typeof condition === 'string' ? condition : undefined;
}

export function endpoint(options: AmqpOptions): string {
  return `amqp${options.tls ? 's' : ''}://${options.host}:${options.port}`;
}

/** A failure of the broker or the link, as a VigilError; a refused queue name is an invalid request. */
export function amqpFailure(what: string, error: unknown, queue?: string): VigilError {
  const condition = conditionOf(error);
  const reason = describeAmqpError(error);
  if (queue !== undefined && (condition === 'amqp:not-found' || condition === 'amqp:invalid-field')) {
    return invalidRequest(`the broker refused queue ${JSON.stringify(queue)}: ${reason}`, error);
  }
  return new VigilError('VIGIL_COMPONENT_FAILED', `${what}: ${reason}`, {
    cause: error,
    details: condition ? { condition } : {},
  });
}

/** Connect and wait for the broker's open frame (SASL done), or fail with the reason. */
export async function openAmqpConnection(options: AmqpOptions): Promise<Connection> {
  const { create_container } = await loadRhea();
  const container = create_container({ id: options.containerId ?? `vigil-mq-bridge-${randomUUID()}` });
  const connectOptions = {
    host: options.host,
    port: options.port,
    reconnect: false,
    idle_time_out: 60_000,
    ...(options.username !== undefined
      ? { username: options.username, password: options.password ?? '' }
      : {}),
    ...(options.tls ? { transport: 'tls', servername: options.host } : {}),
  } as ConnectionOptions;
  return new Promise<Connection>((resolve, reject) => {
    const connection = container.connect(connectOptions);
    let done = false;
    const finish = (error?: VigilError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) {
        connection.close();
        reject(error);
      } else {
        resolve(connection);
      }
    };
    const timer = setTimeout(
      () =>
        finish(
          new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `could not connect to ${endpoint(options)} within ${options.connectTimeoutMs} ms`,
          ),
        ),
      options.connectTimeoutMs,
    );
    // Without listeners rhea re-emits errors on the container, which would throw.
    connection.on('connection_error', (ctx: EventContext) =>
      finish(amqpFailure(`${endpoint(options)} refused the connection`, ctx.connection.error)),
    );
    connection.on('protocol_error', (ctx: EventContext) =>
      finish(amqpFailure(`${endpoint(options)}`, ctx.error)),
    );
    connection.on('error', (ctx: EventContext) => finish(amqpFailure(`${endpoint(options)}`, ctx.error)));
    connection.on('disconnected', (ctx: EventContext) =>
      finish(
        amqpFailure(
          `could not connect to ${endpoint(options)}`,
          ctx.error ?? ctx.connection.error ?? 'disconnected',
        ),
      ),
    );
    connection.once('connection_open', () => finish());
  });
}

/** Close a connection and wait (briefly) for the broker's close frame or the socket to end. */
export async function closeAmqpConnection(connection: Connection, waitMs = 2_000): Promise<void> {
  if (!connection.is_open() && connection.is_closed()) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, waitMs);
    function done() {
      clearTimeout(timer);
      resolve();
    }
    connection.once('connection_close', done);
    connection.once('disconnected', done);
    try {
      connection.close();
    } catch {
      done();
    }
  });
}
