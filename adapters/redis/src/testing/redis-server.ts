/**
 * Test wiring for the real Redis started by `scripts/services` (127.0.0.1, port
 * VIGIL_REDIS_PORT or 6379). Used by this package's tests and benchmark only.
 */
import { Socket } from 'node:net';

export const REDIS_PORT = Number(process.env.VIGIL_REDIS_PORT ?? 6379);
export const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;

let counter = 0;

/** A Feast project name no other test run uses, so every key of a test is its own. */
export function uniqueProject(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

/**
 * Resolve when Redis answers PING on 127.0.0.1; otherwise fail naming the command that starts
 * it (`services`: what the caller needs started, e.g. `'redis feast'`).
 */
export async function requireRedis(services = 'redis'): Promise<void> {
  const reply = await new Promise<string>((resolve) => {
    const socket = new Socket();
    let data = '';
    const done = (text: string) => {
      socket.destroy();
      resolve(text);
    };
    socket.setTimeout(2000, () => done('timeout'));
    socket.once('error', (error) => done(error.message));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.trim());
    });
    socket.connect(REDIS_PORT, '127.0.0.1', () => socket.write('PING\r\n'));
  });
  if (reply !== '+PONG') {
    throw new Error(
      `Redis is not reachable at 127.0.0.1:${REDIS_PORT} (${reply}); start it with: bash scripts/services up ${services}`,
    );
  }
}
