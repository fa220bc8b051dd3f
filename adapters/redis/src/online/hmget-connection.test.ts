import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { REDIS_PORT, REDIS_URL, requireRedis, uniqueProject } from '../testing/redis-server.js';
import { encodeFields, HmgetConnection, HmgetError, hmgetTarget, parseReply } from './hmget-connection.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('RESP replies of HMGET', () => {
  const reply = b('*3\r\n$3\r\nabc\r\n$-1\r\n$0\r\n\r\n+OK\r\n-WRONGTYPE Operation\r\n*-1\r\n');

  it('parses arrays of bulk strings and nulls, simple strings and errors, in sequence', () => {
    const first = parseReply(reply, 0)!;
    expect(first.value).toEqual([b('abc'), null, b('')]);
    const second = parseReply(reply, first.end)!;
    expect(second.value).toBe('OK');
    const third = parseReply(reply, second.end)!;
    expect(third.value).toBeInstanceOf(HmgetError);
    expect((third.value as HmgetError).message).toBe('WRONGTYPE Operation');
    expect((third.value as HmgetError).replied).toBe(true);
    const fourth = parseReply(reply, third.end)!;
    expect(fourth).toEqual({ value: [], end: reply.length });
    expect(parseReply(reply, reply.length)).toBeUndefined();
  });

  it('waits for more bytes at every split point, and binary values keep their bytes', () => {
    const value = Buffer.from([0x0d, 0x0a, 0x24, 0x00, 0xff]);
    const bytes = Buffer.concat([b('*2\r\n$5\r\n'), value, b('\r\n$-1\r\n')]);
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(parseReply(bytes.subarray(0, cut), 0), `cut at ${cut}`).toBeUndefined();
    }
    expect(parseReply(bytes, 0)!.value).toEqual([value, null]);
  });

  it('refuses replies HMGET never gets', () => {
    expect(() => parseReply(b(':1\r\n'), 0)).toThrow(/unexpected RESP reply type ':'/);
    expect(() => parseReply(b('*1\r\n:1\r\n'), 0)).toThrow(/expected a bulk string/);
  });

  it('encodes the field arguments once, as RESP bulk strings', () => {
    expect(encodeFields([b('a'), b('bc')])).toEqual({ count: 2, bytes: b('$1\r\na\r\n$2\r\nbc\r\n') });
  });
});

describe('hmgetTarget', () => {
  it('reads host, port, db and credentials of redis:// URLs only', () => {
    expect(hmgetTarget('redis://127.0.0.1:6380/3')).toEqual({ host: '127.0.0.1', port: 6380, db: 3 });
    expect(hmgetTarget('redis://localhost')).toEqual({ host: 'localhost', port: 6379, db: 0 });
    expect(hmgetTarget('redis://u%40x:p%3Aw@h:1/0')).toEqual({
      host: 'h',
      port: 1,
      db: 0,
      username: 'u@x',
      password: 'p:w',
    });
    expect(hmgetTarget('redis://:secret@h')).toMatchObject({ password: 'secret' });
    expect(hmgetTarget('redis://[::1]:6379')).toMatchObject({ host: '::1' });
    for (const other of ['rediss://h:6379', 'redis://h/x', 'redis://h?family=6', 'not a url']) {
      expect(hmgetTarget(other), other).toBeUndefined();
    }
  });
});

describe('HmgetConnection against Redis', () => {
  beforeAll(() => requireRedis());

  it('selects the database, pipelines HMGETs in one write and answers each in order', async () => {
    const client = new Redis(`${REDIS_URL}/4`);
    const key = b(uniqueProject('vigil_hmget'));
    const conn = await HmgetConnection.open({ host: '127.0.0.1', port: REDIS_PORT, db: 4 });
    try {
      await client.hset(key, 'f1', 'one', 'f3', Buffer.from([0, 1, 2]));
      const fields = encodeFields([b('f1'), b('f2'), b('f3')]);
      const missing = b(`${key.toString()}-none`);
      const replies = await Promise.all(
        conn.hmget([
          { key, fields },
          { key: missing, fields },
          { key, fields: encodeFields([b('f3')]) },
        ]),
      );
      expect(replies).toEqual([
        [b('one'), null, Buffer.from([0, 1, 2])],
        [null, null, null],
        [Buffer.from([0, 1, 2])],
      ]);
      // A wrong type fails that command only.
      await client.set(missing, 'x');
      const [bad, good] = conn.hmget([
        { key: missing, fields },
        { key, fields },
      ]);
      await expect(bad).rejects.toMatchObject({
        replied: true,
        message: expect.stringMatching(/^WRONGTYPE/),
      });
      await expect(good).resolves.toEqual([b('one'), null, Buffer.from([0, 1, 2])]);
      expect(conn.usable).toBe(true);
      await client.del(key, missing);
    } finally {
      conn.close();
      client.disconnect();
    }
    expect(conn.usable).toBe(false);
    await expect(conn.hmget([{ key, fields: encodeFields([b('f1')]) }])[0]).rejects.toMatchObject({
      replied: false,
    });
  });

  it('fails to open when AUTH is refused, or nothing listens', async () => {
    await expect(
      HmgetConnection.open({ host: '127.0.0.1', port: REDIS_PORT, db: 0, password: 'wrong-password' }),
    ).rejects.toThrow(/AUTH/);
    await expect(HmgetConnection.open({ host: '127.0.0.1', port: 1, db: 0 })).rejects.toThrow(/ECONNREFUSED/);
  });
});
