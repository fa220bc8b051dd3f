/**
 * Test support: fail fast, with the command that fixes it, when no broker answers.
 * Exported as `@vigil/adapter-kafka/testing`; talks to the given brokers only.
 */
import { connect } from 'node:net';

/** The brokers tests use: VIGIL_KAFKA_PORT on 127.0.0.1 (scripts/services' default 9092). */
export function testBrokers(): string[] {
  return [`127.0.0.1:${process.env.VIGIL_KAFKA_PORT ?? 9092}`];
}

function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Throw a clear error naming `bash scripts/services up kafka` when a broker does not accept connections. */
export async function requireKafkaBroker(
  brokers: readonly string[] = testBrokers(),
  timeoutMs = 2_000,
): Promise<void> {
  for (const broker of brokers) {
    const at = broker.lastIndexOf(':');
    const host = broker.slice(0, at);
    const port = Number(broker.slice(at + 1));
    if (!(await tcpOpen(host, port, timeoutMs))) {
      throw new Error(
        `Kafka is not reachable at ${broker}; start it with \`bash scripts/services up kafka\` (CI starts every service before the tests)`,
      );
    }
  }
}
