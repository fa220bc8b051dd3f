/**
 * The Artemis broker the tests talk to, as `scripts/services up artemis` starts it. The
 * VIGIL_AMQP_* variables and their defaults are the ones the service script uses.
 */
import { connect } from 'node:net';
import type { AmqpOptions } from '../config.js';
import { amqpConfig } from '../config.js';

export function artemisOptions(overrides: Partial<AmqpOptions> = {}): AmqpOptions {
  return amqpConfig.parse({
    host: process.env.VIGIL_AMQP_HOST ?? '127.0.0.1',
    port: Number(process.env.VIGIL_AMQP_PORT ?? 5672),
    username: process.env.VIGIL_AMQP_USER ?? 'vigil',
    password: process.env.VIGIL_AMQP_PASSWORD ?? 'vigil-artemis',
    connectTimeoutMs: 5_000,
    sendTimeoutMs: 10_000,
    ...overrides,
  });
}

let reachable: Promise<void> | undefined;

/** Resolves when the broker accepts TCP connections; otherwise fails naming the command to start it. */
export function requireArtemis(): Promise<void> {
  reachable ??= new Promise<void>((resolve, reject) => {
    const { host, port } = artemisOptions();
    const socket = connect({ host, port });
    const fail = (reason: string) => {
      socket.destroy();
      reachable = undefined;
      reject(
        new Error(
          `ActiveMQ Artemis is not reachable on ${host}:${port} (${reason}); start it with \`bash scripts/services up artemis\``,
        ),
      );
    };
    socket.setTimeout(2_000, () => fail('timed out'));
    socket.once('error', (error) => fail(error.message));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
  });
  return reachable;
}

let sequence = 0;

/** A queue name of the tests' own (Artemis removes `vigil.test.` queues once empty and unused). */
export function testQueue(purpose: string): string {
  sequence += 1;
  return `vigil.test.${purpose}.${process.pid}.${Date.now().toString(36)}.${sequence}`;
}
