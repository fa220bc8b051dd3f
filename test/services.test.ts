import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Brings Redis up through scripts/services and talks to it over a raw socket. Redis is left
// running on purpose: `npm test` starts services in `pretest` and `.ci/run` stops them.

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.VIGIL_REDIS_PORT ?? 6379);

async function services(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  // apt-get may run on a fresh machine: allow it time, well inside the test timeout.
  return run('bash', ['scripts/services', ...args], { cwd: repoRoot, timeout: 50_000 });
}

type Reply = string | number | null | Error;

/** Parses one complete RESP2 reply at the start of `buf`; undefined when more bytes are needed. */
function parseReply(buf: Buffer): { reply: Reply; rest: Buffer } | undefined {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const line = buf.subarray(1, eol).toString('utf8');
  const after = buf.subarray(eol + 2);
  switch (String.fromCharCode(buf[0]!)) {
    case '+':
      return { reply: line, rest: after };
    case '-':
      return { reply: new Error(line), rest: after };
    case ':':
      return { reply: Number(line), rest: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: null, rest: after };
      if (after.length < len + 2) return undefined;
      return { reply: after.subarray(0, len).toString('utf8'), rest: after.subarray(len + 2) };
    }
    default:
      throw new Error(`unexpected RESP reply: ${JSON.stringify(buf.toString('utf8'))}`);
  }
}

/** A minimal RESP client: one command at a time over one connection. */
class RespConnection {
  #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (reply: Reply) => void; reject: (err: Error) => void } | undefined;
  #failure: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
    socket.on('error', (err) => {
      this.#failure = err;
    });
    socket.on('close', () => {
      this.#failure ??= new Error('redis closed the connection');
      this.#waiting?.reject(this.#failure);
      this.#waiting = undefined;
    });
  }

  static open(p: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: p }, () => {
        socket.off('error', reject);
        resolve(new RespConnection(socket));
      });
      socket.once('error', reject);
      socket.setTimeout(5_000, () => socket.destroy(new Error('redis did not answer within 5 s')));
    });
  }

  #drain(): void {
    const parsed = parseReply(this.#buffer);
    if (!parsed || !this.#waiting) return;
    this.#buffer = parsed.rest;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting.resolve(parsed.reply);
  }

  command(...args: string[]): Promise<Reply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const frame = [`*${args.length}\r\n`, ...args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`)].join(
      '',
    );
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(frame);
    });
  }

  close(): void {
    this.#socket.end();
  }
}

function statusLine(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('redis '));
  if (!line) throw new Error(`no redis line in status output:\n${stdout}`);
  return line;
}

describe('scripts/services', () => {
  it('brings Redis up, answers PING and SET/GET, and a second up is a no-op', async () => {
    const first = await services('up', 'redis');
    expect(first.stderr).toMatch(/redis (up|already up|already answers)/);

    const before = statusLine((await services('status')).stdout);
    expect(before).toMatch(new RegExp(`^redis\\s+up\\s+pid \\S+\\s+port ${port}\\b`));

    const conn = await RespConnection.open(port);
    try {
      expect(await conn.command('PING')).toBe('PONG');
      const key = `vigil:test:services:${process.pid}`;
      await conn.command('DEL', key);
      expect(await conn.command('GET', key)).toBeNull();
      expect(await conn.command('SET', key, 'päärynä 1', 'EX', '60')).toBe('OK');
      expect(await conn.command('GET', key)).toBe('päärynä 1');
      expect(await conn.command('DEL', key)).toBe(1);
      expect(await conn.command('NO-SUCH-COMMAND')).toBeInstanceOf(Error);
    } finally {
      conn.close();
    }

    const second = await services('up', 'redis');
    expect(second.stderr).toMatch(/redis already (up|answers)/);
    expect(statusLine((await services('status')).stdout)).toBe(before);
  });

  it('rejects an unknown service with exit code 2 and lists the known ones', async () => {
    const failed = await services('up', 'no-such-service').then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toMatch(/known services: .*\bredis\b/);
  });
});
