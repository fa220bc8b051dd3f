import type { FeatureView } from '@vigil/core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeTimestamp, encodeValue, featureField, redisKey } from '../feast-encoding/index.js';
import { REDIS_URL, requireRedis, uniqueProject } from '../testing/redis-server.js';
import { HmgetConnection } from './hmget-connection.js';
import { RedisOnlineStore } from './redis-online-store.js';

const T = Date.parse('2024-01-01T12:00:10Z') * 1000;

/** The stored values of each entity (its timestamp aside). */
const valuesOf = (entries: ({ values: unknown[] } | null)[]) => entries.map((e) => e?.values ?? null);

const trips: FeatureView = {
  name: 'driver_trips',
  entities: ['driver_id'],
  entityDtypes: { driver_id: 'int64' },
  features: [
    { name: 'rate', dtype: 'float32' },
    { name: 'trips', dtype: 'int64' },
    { name: 'city', dtype: 'string' },
  ],
  ttlSeconds: 0,
  source: { path: 'drivers/trips', timestampField: 'ts' },
  version: 1,
};

const ratings: FeatureView = {
  ...trips,
  name: 'driver_ratings',
  features: [{ name: 'stars', dtype: 'float64' }],
};

const open: RedisOnlineStore[] = [];
async function connect(
  options: { project?: string; keyTtlSeconds?: number; fastReads?: boolean } = {},
): Promise<RedisOnlineStore> {
  const store = await RedisOnlineStore.connect({
    url: REDIS_URL,
    project: uniqueProject('vigil_ut'),
    ...options,
  });
  open.push(store);
  return store;
}

beforeAll(() => requireRedis());
afterEach(async () => {
  for (const store of open.splice(0)) {
    await store.deleteProject();
    await store.close();
  }
});

describe('redis online store', () => {
  it("writes Feast's bytes: key v3 + project, murmur3 fields, Value and Timestamp protobufs", async () => {
    const store = await connect();
    expect(await store.write(trips, [{ entity: [1001], ts: T, values: [0.5, 1002, null] }])).toBe(1);
    const key = redisKey([{ name: 'driver_id', dtype: 'int64', value: 1001 }], store.project);
    expect(await store.client.hlen(key)).toBe(4);
    expect((await store.client.hgetBuffer(key, '_ts:driver_trips'))?.toString('hex')).toBe('08cad2caac06');
    const get = (f: string) => store.client.hgetBuffer(key, featureField('driver_trips', f));
    expect((await get('rate'))?.toString('hex')).toBe('350000003f');
    expect((await get('trips'))?.toString('hex')).toBe('20ea07');
    expect((await get('city'))?.length).toBe(0);
    expect(await store.client.ttl(key)).toBe(-1);
  });

  it('skips rows not newer than the stored timestamp, and earlier rows of the same batch', async () => {
    const store = await connect();
    await store.write(trips, [{ entity: [7], ts: T, values: [1, 1, 'a'] }]);
    expect(
      await store.write(trips, [
        { entity: [7], ts: T, values: [2, 2, 'equal'] },
        { entity: ['7'], ts: T - 1, values: [3, 3, 'older'] },
      ]),
    ).toBe(0);
    expect(valuesOf(await store.read(trips, [[7]], [0, 1, 2]))).toEqual([[1, 1, 'a']]);
    expect(
      await store.write(trips, [
        { entity: [7], ts: T + 2e6, values: [5, 5, 'latest'] },
        { entity: [7], ts: T + 1e6, values: [4, 4, 'earlier'] },
        { entity: [8], ts: T, values: [6, 6, 'other'] },
      ]),
    ).toBe(2);
    expect(valuesOf(await store.read(trips, [[7], [8], [9]], [2, 0]))).toEqual([
      ['latest', 5],
      ['other', 6],
      null,
    ]);
  });

  it('keeps views of one entity in one hash; an int64 key accepts numbers, bigints and digit strings', async () => {
    const store = await connect();
    await store.write(trips, [{ entity: [42n], ts: T, values: [1, 2, 'x'] }]);
    await store.write(ratings, [{ entity: ['42'], ts: T, values: [4.5] }]);
    expect(await store.client.dbsize()).toBeGreaterThan(0);
    const key = store.key(trips, [42]);
    expect(await store.client.hlen(key)).toBe(6);
    expect(valuesOf(await store.read(ratings, [[42]], [0]))).toEqual([[4.5]]);
    expect(valuesOf(await store.read(trips, [[null]], [0]))).toEqual([null]);
    await expect(store.read(trips, [['driver-42']], [0])).rejects.toThrow(
      /join key 'driver_id' is declared int64/,
    );
  });

  for (const fastReads of [true, false]) {
    it(`readViews reads the views sharing an entity hash with one HMGET per entity, as read does view by view (fastReads: ${fastReads})`, async () => {
      const store = await connect({ fastReads });
      expect(store.fastReadsUp).toBe(fastReads);
      await store.write(trips, [
        { entity: [1], ts: T, values: [0.5, 3, 'a'] },
        { entity: [2], ts: T + 1e6, values: [null, 4, 'b'] },
      ]);
      await store.write(ratings, [{ entity: [1], ts: T + 2e6, values: [4.5] }]);
      // A view of another entity lives in other hashes: its own HMGET.
      const cities: FeatureView = {
        ...ratings,
        name: 'city_stats',
        entities: ['city'],
        entityDtypes: { city: 'string' },
        features: [{ name: 'drivers', dtype: 'int64' }],
      };
      await store.write(cities, [{ entity: ['a'], ts: T, values: [12] }]);
      // The HMGETs sent (argument count: key + fields), over whichever connection reads.
      const sent: number[] = [];
      const client = store.client as unknown as {
        sendCommand: (c: { name: string; args: unknown[] }) => unknown;
      };
      const sendCommand = client.sendCommand.bind(client);
      client.sendCommand = (command) => {
        if (command.name === 'hmget') sent.push(command.args.length);
        return sendCommand(command);
      };
      const hmget = HmgetConnection.prototype.hmget;
      const spy = vi.spyOn(HmgetConnection.prototype, 'hmget').mockImplementation(function (
        this: HmgetConnection,
        commands,
      ) {
        for (const c of commands) sent.push(1 + c.fields.count);
        return hmget.call(this, commands);
      });
      try {
        const reads = [
          { view: trips, features: [2, 0] },
          { view: ratings, features: [0] },
        ];
        const one = await store.readViews(reads, [{ driver_id: 1 }]);
        // key + (2 trips fields + _ts) + (1 ratings field + _ts)
        expect(sent).toEqual([6]);
        expect(one).toEqual([[{ ts: T, values: ['a', 0.5] }], [{ ts: T + 2e6, values: [4.5] }]]);
        sent.length = 0;
        const rows = [
          { driver_id: 1, city: 'a' },
          { driver_id: 2, city: 'b' },
          { driver_id: null, city: 'a' },
          { driver_id: 9, city: 'z' },
        ];
        const all = await store.readViews([...reads, { view: cities, features: [0] }], rows);
        // Three rows with a driver id, four with a city: seven HMGETs (in one write or pipeline).
        expect(sent).toHaveLength(7);
        const entities = (keys: string[]) =>
          rows.map((r) => keys.map((k) => (r as Record<string, unknown>)[k]));
        expect(all).toEqual([
          await store.read(trips, entities(['driver_id']), [2, 0]),
          await store.read(ratings, entities(['driver_id']), [0]),
          await store.read(cities, entities(['city']), [0]),
        ]);
        expect(all[1]).toEqual([{ ts: T + 2e6, values: [4.5] }, null, null, null]);
        expect(all[2]![0]).toEqual({ ts: T, values: [12] });
      } finally {
        spy.mockRestore();
      }
    });
  }

  it('reads through the ioredis client while the fast read connection is down, then opens a new one', async () => {
    const store = await connect();
    await store.write(trips, [{ entity: [5], ts: T, values: [1.5, 2, 'c'] }]);
    const reads = [{ view: trips, features: [0, 2] }];
    const expected = [[{ ts: T, values: [1.5, 'c'] }]];
    expect(await store.readViews(reads, [{ driver_id: 5 }])).toEqual(expected);
    // Kill the read connection on the server side (by its name), mid-life.
    const list = (await store.client.client('LIST')) as string;
    const id = /id=(\d+) [^\n]*name=vigil-online-reads/.exec(list)?.[1];
    expect(id).toBeDefined();
    await store.client.client('KILL', 'ID', id!);
    await vi.waitFor(() => expect(store.fastReadsUp).toBe(false));
    // Answered anyway (by ioredis), and a new read connection is opened in the background.
    expect(await store.readViews(reads, [{ driver_id: 5 }])).toEqual(expected);
    await vi.waitFor(() => expect(store.fastReadsUp).toBe(true), { timeout: 3000 });
    expect(await store.readViews(reads, [{ driver_id: 5 }])).toEqual(expected);
    // The connection failing under commands already written: they are answered by ioredis.
    const hmget = HmgetConnection.prototype.hmget;
    const spy = vi.spyOn(HmgetConnection.prototype, 'hmget').mockImplementationOnce(function (
      this: HmgetConnection,
      commands,
    ) {
      const replies = hmget.call(this, commands);
      this.close();
      return replies;
    });
    try {
      expect(await store.readViews(reads, [{ driver_id: 5 }])).toEqual(expected);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(store.fastReadsUp).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  it('a Redis error reply to a fast read is a component error, and the connection stays up', async () => {
    const store = await connect();
    // A key of the wrong type where the entity's hash would be.
    await store.client.set(store.key(trips, [77]), 'not a hash');
    await expect(store.readViews([{ view: trips, features: [0] }], [{ driver_id: 77 }])).rejects.toThrow(
      /redis online store: HMGET: WRONGTYPE/,
    );
    expect(store.fastReadsUp).toBe(true);
  });

  it('clearView removes one view’s fields from its project only', async () => {
    const store = await connect();
    // A project whose name ends with ours: its keys match the SCAN pattern but are not ours.
    const other = await connect({ project: `x${store.project}` });
    for (const s of [store, other]) {
      await s.write(trips, [{ entity: [1], ts: T, values: [1, 1, 'a'] }]);
      await s.write(ratings, [{ entity: [1], ts: T, values: [3] }]);
    }
    await store.clearView(trips);
    expect(valuesOf(await store.read(trips, [[1]], [0, 1, 2]))).toEqual([null]);
    expect(valuesOf(await store.read(ratings, [[1]], [0]))).toEqual([[3]]);
    expect(valuesOf(await other.read(trips, [[1]], [1]))).toEqual([[1]]);
    expect(await store.deleteProject()).toBe(1);
    expect(valuesOf(await other.read(ratings, [[1]], [0]))).toEqual([[3]]);
  });

  it('sets EXPIRE on written keys when keyTtlSeconds is set', async () => {
    const store = await connect({ keyTtlSeconds: 300 });
    await store.write(trips, [{ entity: [5], ts: T, values: [1, 1, 'a'] }]);
    const ttl = await store.client.ttl(store.key(trips, [5]));
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('writes batches larger than one pipeline', async () => {
    const store = await RedisOnlineStore.connect({
      url: REDIS_URL,
      project: uniqueProject('vigil_ut'),
      batchSize: 7,
    });
    open.push(store);
    const rows = Array.from({ length: 30 }, (_, i) => ({ entity: [i], ts: T + i, values: [i, i, `c${i}`] }));
    expect(await store.write(trips, rows)).toBe(30);
    const read = await store.read(
      trips,
      rows.map((r) => r.entity),
      [1],
    );
    expect(read.map((r) => r?.values[0])).toEqual(rows.map((_, i) => i));
    expect(read.map((r) => r?.ts)).toEqual(rows.map((r) => r.ts));
    expect(
      (await store.client.hgetBuffer(store.key(trips, [3]), '_ts:driver_trips'))?.equals(
        encodeTimestamp(T + 3),
      ),
    ).toBe(true);
    expect(
      encodeValue(3, 'int64').equals(
        (await store.client.hgetBuffer(store.key(trips, [3]), featureField('driver_trips', 'trips')))!,
      ),
    ).toBe(true);
  });

  it('fails to connect with a message naming the URL without its password', async () => {
    const error = await RedisOnlineStore.connect({ url: 'redis://:s3cret@127.0.0.1:1', project: 'p' }).catch(
      (e) => e,
    );
    expect(error.code).toBe('VIGIL_COMPONENT_FAILED');
    expect(error.message).toContain('127.0.0.1:1');
    expect(error.message).not.toContain('s3cret');
  });

  it('rejects use after close', async () => {
    const store = await RedisOnlineStore.connect({ url: REDIS_URL, project: uniqueProject('vigil_ut') });
    await store.close();
    await expect(store.read(trips, [[1]], [0])).rejects.toThrow(/closed/);
  });
});
