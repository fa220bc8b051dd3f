import { connect, type Socket } from 'node:net';

/** One `HMGET` of a batch: the key and the RESP bytes of its field arguments (see {@link encodeFields}). */
export interface HmgetCommand {
  key: Buffer;
  /** `fields.length` and `$len\r\nfield\r\n…` of every field, from {@link encodeFields}. */
  fields: EncodedFields;
}

/** The field arguments of an `HMGET`, encoded once and reused by every command that reads them. */
export interface EncodedFields {
  count: number;
  bytes: Buffer;
}

/** A reply: one entry per field, null where the hash has no such field (or no hash). */
export type HmgetReply = (Buffer | null)[];

/** A Redis error reply (`-ERR …`), or the connection failing under a command. */
export class HmgetError extends Error {
  /** True when the server answered with an error (the command reached it); false when the connection failed. */
  readonly replied: boolean;
  constructor(message: string, replied: boolean) {
    super(message);
    this.name = 'HmgetError';
    this.replied = replied;
  }
}

/** `CLIENT SETNAME` of every read connection. */
export const HMGET_CONNECTION_NAME = 'vigil-online-reads';

const CRLF = Buffer.from('\r\n');
const HMGET = Buffer.from('$5\r\nHMGET\r\n');

/** RESP bulk strings of the fields, concatenated: the constant tail of every HMGET that reads them. */
export function encodeFields(fields: readonly Buffer[]): EncodedFields {
  const parts: Buffer[] = [];
  for (const f of fields) parts.push(Buffer.from(`$${f.length}\r\n`, 'latin1'), f, CRLF);
  return { count: fields.length, bytes: Buffer.concat(parts) };
}

/** The RESP bytes of a batch of HMGETs, in order. */
export function encodeHmgets(commands: readonly HmgetCommand[]): Buffer {
  const parts: Buffer[] = [];
  for (const { key, fields } of commands) {
    parts.push(
      Buffer.from(`*${fields.count + 2}\r\n`, 'latin1'),
      HMGET,
      Buffer.from(`$${key.length}\r\n`, 'latin1'),
      key,
      CRLF,
      fields.bytes,
    );
  }
  return Buffer.concat(parts);
}

/** Parse result: a value and the offset after it, or undefined when `buf` ends first. */
type Parsed = { value: HmgetReply | HmgetError | string; end: number } | undefined;

function lineEnd(buf: Buffer, from: number): number {
  const cr = buf.indexOf(13, from);
  return cr >= 0 && cr + 1 < buf.length ? cr : -1;
}

/**
 * One RESP2 reply from `offset`: an array of bulk strings / nulls (HMGET), an error, or a
 * simple string (AUTH, SELECT). Anything else is a protocol error (thrown).
 */
export function parseReply(buf: Buffer, offset: number): Parsed {
  if (offset >= buf.length) return undefined;
  const type = buf[offset];
  let end = lineEnd(buf, offset + 1);
  if (end < 0) return undefined;
  const line = buf.toString('latin1', offset + 1, end);
  let at = end + 2;
  if (type === 0x2b /* + */) return { value: line, end: at };
  if (type === 0x2d /* - */) return { value: new HmgetError(line, true), end: at };
  if (type !== 0x2a /* * */) throw new Error(`unexpected RESP reply type '${String.fromCharCode(type!)}'`);
  const n = Number(line);
  if (n < 0) return { value: [], end: at };
  const out: HmgetReply = new Array(n);
  for (let i = 0; i < n; i++) {
    if (at >= buf.length) return undefined;
    if (buf[at] !== 0x24 /* $ */) throw new Error('unexpected RESP array element (expected a bulk string)');
    end = lineEnd(buf, at + 1);
    if (end < 0) return undefined;
    const len = Number(buf.toString('latin1', at + 1, end));
    at = end + 2;
    if (len < 0) {
      out[i] = null;
      continue;
    }
    if (at + len + 2 > buf.length) return undefined;
    out[i] = buf.subarray(at, at + len);
    at += len + 2;
  }
  return { value: out, end: at };
}

interface Pending {
  resolve: (value: HmgetReply | string) => void;
  reject: (error: Error) => void;
}

/** Where to connect: what `redis://[user:password@]host:port[/db]` says. */
export interface HmgetTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

/** The target of a `redis://` URL; undefined for other schemes (TLS, unix sockets), which this connection does not speak. */
export function hmgetTarget(url: string): HmgetTarget | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'redis:' || u.search !== '') return undefined;
  const db = u.pathname === '' || u.pathname === '/' ? 0 : Number(u.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0) return undefined;
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/**
 * A lean read connection for the serving path: pipelined `HMGET`s whose field arguments are
 * encoded once per read plan, and a parser for exactly the replies they get (arrays of bulk
 * strings). It skips a general client's per-command work (argument conversion, command
 * objects, a reply parser for every type). It does not reconnect by itself: when the socket
 * fails, every command waiting on it is rejected with `replied: false`, and the owner decides
 * (the online store reads through its ioredis client instead and opens a new one later).
 */
export class HmgetConnection {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  #buf: Buffer | undefined;
  #failure: Error | undefined;
  /** Commands encoded since the last write; written together once per event-loop turn. */
  #queued: Buffer[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  /** Connect, authenticate and select the database; rejects when any of them fails. */
  static async open(target: HmgetTarget, timeoutMs = 3000): Promise<HmgetConnection> {
    const socket = connect({ host: target.host, port: target.port });
    socket.setTimeout(timeoutMs);
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.off('timeout', timedOut);
        resolve();
      });
      const timedOut = () => fail(new Error(`connect timed out after ${timeoutMs} ms`));
      socket.once('error', fail);
      socket.once('timeout', timedOut);
    });
    socket.setTimeout(0);
    const conn = new HmgetConnection(socket);
    try {
      const args: Buffer[][] = [];
      if (target.password !== undefined) {
        args.push(
          target.username !== undefined
            ? [Buffer.from('AUTH'), Buffer.from(target.username), Buffer.from(target.password)]
            : [Buffer.from('AUTH'), Buffer.from(target.password)],
        );
      }
      if (target.db !== 0) args.push([Buffer.from('SELECT'), Buffer.from(String(target.db))]);
      // Named, so operators (and tests) can tell it from the general client in CLIENT LIST.
      args.push([Buffer.from('CLIENT'), Buffer.from('SETNAME'), Buffer.from(HMGET_CONNECTION_NAME)]);
      for (const command of args) {
        const reply = await conn.#send(encodeCommand(command));
        if (reply !== 'OK') throw new Error(`${command[0]} answered ${String(reply)}`);
      }
    } catch (error) {
      conn.close();
      throw error;
    }
    return conn;
  }

  /** False once the socket failed or was closed. */
  get usable(): boolean {
    return this.#failure === undefined;
  }

  /**
   * Send the HMGETs; their replies in order (an error reply rejects that command only). The
   * commands of every call made in one event-loop turn (e.g. the requests of all the sockets
   * that were readable together) go out in one write, after the turn's I/O callbacks
   * (`setImmediate`): one loopback `write` and usually one `read` for all of them, instead of
   * one each.
   */
  hmget(commands: readonly HmgetCommand[]): Promise<HmgetReply>[] {
    if (this.#failure) {
      const error = new HmgetError(this.#failure.message, false);
      return commands.map(() => Promise.reject(error));
    }
    const replies = commands.map(
      () =>
        new Promise<HmgetReply>((resolve, reject) => {
          this.#pending.push({ resolve: resolve as Pending['resolve'], reject });
        }),
    );
    this.#queued.push(encodeHmgets(commands));
    if (this.#queued.length === 1) setImmediate(this.#flush);
    return replies;
  }

  readonly #flush = (): void => {
    const queued = this.#queued;
    this.#queued = [];
    // After a failure the commands were already rejected; nothing is written.
    if (this.#failure || queued.length === 0) return;
    this.#socket.write(queued.length === 1 ? queued[0]! : Buffer.concat(queued));
  };

  close(): void {
    this.#fail(new Error('connection closed'));
    this.#socket.destroy();
  }

  #send(bytes: Buffer): Promise<HmgetReply | string> {
    if (this.#failure) return Promise.reject(new HmgetError(this.#failure.message, false));
    const reply = new Promise<HmgetReply | string>((resolve, reject) => {
      this.#pending.push({ resolve, reject });
    });
    this.#socket.write(bytes);
    return reply;
  }

  #onData(chunk: Buffer): void {
    const buf = this.#buf ? Buffer.concat([this.#buf, chunk]) : chunk;
    let offset = 0;
    try {
      for (;;) {
        const parsed = parseReply(buf, offset);
        if (!parsed) break;
        offset = parsed.end;
        const waiting = this.#pending.shift();
        if (!waiting) throw new Error('a reply came with no command waiting');
        if (parsed.value instanceof HmgetError) waiting.reject(parsed.value);
        else waiting.resolve(parsed.value);
      }
    } catch (error) {
      this.#fail(error as Error);
      this.#socket.destroy();
      return;
    }
    this.#buf = offset >= buf.length ? undefined : buf.subarray(offset);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiting = this.#pending.splice(0);
    const failure = new HmgetError(error.message, false);
    for (const p of waiting) p.reject(failure);
  }
}

/** RESP array of bulk strings. */
function encodeCommand(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`, 'latin1'), a, CRLF);
  return Buffer.concat(parts);
}
