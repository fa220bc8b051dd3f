import type { OnlineBackend, OnlineEntry, OnlineRow } from '@vigil/adapter-duckdb';
import { type FeatureDtype, type FeatureView, type ScalarValue, VigilError } from '@vigil/core';
import type { Redis } from 'ioredis';
import {
  decodeTimestamp,
  decodeValue,
  encodeTimestamp,
  encodeValue,
  entityKeyEncoder,
  entityKeyLength,
  featureField,
  timestampField,
} from '../feast-encoding/index.js';
import {
  type EncodedFields,
  encodeFields,
  HmgetConnection,
  HmgetError,
  type HmgetReply,
  type HmgetTarget,
  hmgetTarget,
} from './hmget-connection.js';

export interface RedisOnlineStoreOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /** Feast project: the suffix of every key. */
  project: string;
  /** EXPIRE each written entity key after this many seconds (Feast's `key_ttl_seconds`). */
  keyTtlSeconds?: number;
  /** Rows per pipeline round trip when writing. Default 1000. */
  batchSize?: number;
  /**
   * Serve `readViews` over a lean second connection (prebuilt `HMGET` arguments, a parser for
   * just their replies), falling back to the ioredis client while it is down. Only for
   * `redis://` URLs. Default true.
   */
  fastReads?: boolean;
}

/** A view's hash fields and dtypes, computed once per view definition. */
interface ViewEncoding {
  fields: Buffer[];
  ts: Buffer;
  dtypes: FeatureDtype[];
  /** Redis key of an entity (join-key values in `view.entities` order). */
  key: (entity: readonly unknown[]) => Buffer;
  /** Join keys and their dtypes: views with the same signature share each entity's hash. */
  signature: string;
}

/** Views whose reads share one Redis hash per entity: one `HMGET` reads all their fields. */
interface ReadGroup {
  /** The join keys (in the first view's order) and the key encoder. */
  entities: readonly string[];
  key: (entity: readonly unknown[]) => Buffer;
  /** Every read's feature fields then its `_ts` field, read after read. */
  fields: Buffer[];
  /** The same fields as RESP arguments (the fast read connection's). */
  encoded: EncodedFields;
  /** Per read of the group: its index in `reads`, where its fields start in `fields`, its feature count. */
  parts: { read: number; offset: number; n: number }[];
}

/** The groups of one list of reads, kept while the same reads come again (serving repeats them). */
interface ReadGroups {
  reads: readonly { view: FeatureView; features: readonly number[] }[];
  views: FeatureView[];
  features: (readonly number[])[];
  groups: ReadGroup[];
}

/**
 * One view's entry from an `HMGET` reply: `n` feature values from `offset`, then its `_ts`;
 * null when neither a value nor the timestamp is stored (the view never wrote this entity).
 */
function decodeEntry(reply: readonly (Buffer | null)[], offset: number, n: number): OnlineEntry | null {
  let found = false;
  const values = new Array<ScalarValue>(n);
  for (let j = 0; j < n; j++) {
    const bytes = reply[offset + j];
    if (bytes !== null && bytes !== undefined) found = true;
    values[j] = decodeValue(bytes);
  }
  const ts = reply[offset + n];
  if (!found && !ts) return null;
  return { ts: ts ? decodeTimestamp(ts) : 0, values };
}

/** The URL with any password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://<unparseable url>';
  }
}

/**
 * Online values in Redis, byte-compatible with Feast's Redis online store
 * (entity_key_serialization_version 3, INTEROP §1): one hash per entity key
 * (`serialize_entity_key(...) + project`) shared by all views of that entity; field
 * murmur3(`<view>:<feature>`) → serialized `feast.types.Value`, and `_ts:<view>` →
 * serialized `google.protobuf.Timestamp`. Writes read the stored `_ts` first and skip rows
 * that are not newer (as Feast does: not atomic against a concurrent writer of the same key),
 * then `HSET` (+ `EXPIRE`) in one pipeline; reads are one `HMGET` per entity, for all the
 * views read together (`readViews`) that share the entity's hash.
 */
export class RedisOnlineStore implements OnlineBackend {
  readonly #client: Redis;
  readonly #project: string;
  readonly #projectBytes: Buffer;
  readonly #ttl: number | undefined;
  readonly #batchSize: number;
  readonly #encodings = new WeakMap<FeatureView, ViewEncoding>();
  #readGroups: ReadGroups | undefined;
  /** The fast read connection (see `fastReads`); undefined while down or when off. */
  readonly #fastTarget: HmgetTarget | undefined;
  #fast: HmgetConnection | undefined;
  #reopening: Promise<void> | undefined;
  #lastOpenAttempt = 0;
  #closed = false;

  private constructor(client: Redis, options: RedisOnlineStoreOptions, fast: HmgetConnection | undefined) {
    this.#client = client;
    this.#fast = fast;
    this.#fastTarget = options.fastReads === false ? undefined : hmgetTarget(options.url);
    this.#project = options.project;
    this.#projectBytes = Buffer.from(options.project, 'utf8');
    this.#ttl = options.keyTtlSeconds;
    this.#batchSize = options.batchSize ?? 1000;
  }

  /** Connect (ioredis is imported here, lazily) and check the server answers. */
  static async connect(options: RedisOnlineStoreOptions): Promise<RedisOnlineStore> {
    if (typeof options.project !== 'string' || options.project.length === 0) {
      throw new VigilError('VIGIL_CONFIG_INVALID', 'redis online store: project must be a non-empty string');
    }
    if (
      options.keyTtlSeconds !== undefined &&
      !(Number.isInteger(options.keyTtlSeconds) && options.keyTtlSeconds > 0)
    ) {
      throw new VigilError(
        'VIGIL_CONFIG_INVALID',
        'redis online store: keyTtlSeconds must be a positive integer',
      );
    }
    const { Redis } = await import('ioredis');
    let lastError: unknown;
    const client = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: 3000,
      maxRetriesPerRequest: 2,
      // A few quick reconnects, then give up and fail commands instead of queueing forever.
      retryStrategy: (times) => (times > 5 ? null : Math.min(times * 100, 1000)),
    });
    client.on('error', (error: unknown) => {
      lastError = error;
    });
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      client.disconnect();
      const reason = error instanceof Error ? error.message : String(lastError ?? error);
      throw new VigilError(
        'VIGIL_COMPONENT_FAILED',
        `redis online store: cannot reach ${redactUrl(options.url)}: ${reason}`,
        { cause: error },
      );
    }
    const target = options.fastReads === false ? undefined : hmgetTarget(options.url);
    // Without it reads go through the ioredis client (and it is tried again later).
    const fast = target ? await HmgetConnection.open(target).catch(() => undefined) : undefined;
    return new RedisOnlineStore(client, options, fast);
  }

  /** Whether reads currently go over the fast read connection (`fastReads`). */
  get fastReadsUp(): boolean {
    return this.#fast?.usable === true;
  }

  /** The ioredis client (for tools that compare against raw commands). */
  get client(): Redis {
    return this.#client;
  }

  get project(): string {
    return this.#project;
  }

  /** The Redis key of an entity of a view (join-key values in `view.entities` order). */
  key(view: FeatureView, entity: readonly unknown[]): Buffer {
    return this.#encoding(view).key(entity);
  }

  /** The hash field of each feature of a view, in `view.features` order. */
  fields(view: FeatureView): readonly Buffer[] {
    return this.#encoding(view).fields;
  }

  async write(view: FeatureView, rows: readonly OnlineRow[]): Promise<number> {
    this.#assertOpen();
    if (rows.length === 0) return 0;
    const enc = this.#encoding(view);
    // Within a batch the latest timestamp wins; of equal ones the first row.
    const latest = new Map<string, { key: Buffer; row: OnlineRow; ts: number }>();
    for (const row of rows) {
      const key = this.key(view, row.entity);
      const id = key.toString('latin1');
      const ts = Math.round(row.ts);
      const seen = latest.get(id);
      if (!seen || ts > seen.ts) latest.set(id, { key, row, ts });
    }
    const entries = [...latest.values()];
    let applied = 0;
    for (let start = 0; start < entries.length; start += this.#batchSize) {
      const chunk = entries.slice(start, start + this.#batchSize);
      const stored = await this.#exec(
        chunk.reduce((p, e) => p.hgetBuffer(e.key, enc.ts), this.#client.pipeline()),
        'read _ts',
      );
      const pipe = this.#client.pipeline();
      let writes = 0;
      chunk.forEach((e, i) => {
        const previous = stored[i] as Buffer | null;
        if (previous && previous.length > 0 && e.ts <= decodeTimestamp(previous)) return;
        const args: Buffer[] = [enc.ts, encodeTimestamp(e.ts)];
        enc.fields.forEach((field, f) => {
          args.push(field, encodeValue(e.row.values[f] ?? null, enc.dtypes[f]!));
        });
        pipe.hset(e.key, ...args);
        if (this.#ttl !== undefined) pipe.expire(e.key, this.#ttl);
        writes++;
      });
      if (writes > 0) await this.#exec(pipe, 'HSET');
      applied += writes;
    }
    return applied;
  }

  async read(
    view: FeatureView,
    entities: readonly (readonly unknown[])[],
    features: readonly number[],
  ): Promise<(OnlineEntry | null)[]> {
    this.#assertOpen();
    const enc = this.#encoding(view);
    const fields = features.map((i) => enc.fields[i]!);
    fields.push(enc.ts);
    const keys = entities.map((entity) =>
      entity.some((v) => v === null || v === undefined) ? null : enc.key(entity),
    );
    let replies: ((Buffer | null)[] | null)[];
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only) {
      replies = [await this.#command(() => this.#client.hmgetBuffer(only, ...fields))];
    } else {
      const pipe = this.#client.pipeline();
      for (const key of keys) if (key) pipe.hmgetBuffer(key, ...fields);
      const got = keys.some((k) => k !== null) ? await this.#exec(pipe, 'HMGET') : [];
      let next = 0;
      replies = keys.map((k) => (k === null ? null : (got[next++] as (Buffer | null)[])));
    }
    const n = features.length;
    return replies.map((reply) => (reply ? decodeEntry(reply, 0, n) : null));
  }

  /**
   * The reads of several views for the same entity rows. Views with the same join keys and
   * dtypes live in one hash per entity (Feast's layout), so each entity costs one `HMGET` of
   * all their fields (and each view's `_ts`) however many views are read; several entities
   * or groups go in one pipeline.
   */
  async readViews(
    reads: readonly { view: FeatureView; features: readonly number[] }[],
    entityRows: readonly Record<string, unknown>[],
  ): Promise<(OnlineEntry | null)[][]> {
    this.#assertOpen();
    const { groups } = this.#groupsOf(reads);
    const out: (OnlineEntry | null)[][] = reads.map(() => new Array(entityRows.length).fill(null));
    // One command per (group, entity) with a complete key.
    const commands: { group: ReadGroup; row: number; key: Buffer }[] = [];
    for (const group of groups) {
      for (let i = 0; i < entityRows.length; i++) {
        const row = entityRows[i]!;
        const values = group.entities.map((k) => row[k]);
        if (values.some((v) => v === null || v === undefined)) continue;
        commands.push({ group, row: i, key: group.key(values) });
      }
    }
    if (commands.length === 0) return out;
    const replies = await this.#hmget(commands);
    commands.forEach(({ group, row }, c) => {
      const reply = replies[c]!;
      for (const part of group.parts) out[part.read]![row] = decodeEntry(reply, part.offset, part.n);
    });
    return out;
  }

  /** Remove a view's fields (`previous` definition) from every entity key of the project, as Feast's `delete_table`. */
  async clearView(previous: FeatureView): Promise<void> {
    this.#assertOpen();
    const enc = this.#encoding(previous);
    const fields = [...enc.fields, enc.ts];
    await this.#scanProject(async (keys) => {
      await this.#exec(
        keys.reduce((p, key) => p.hdel(key, ...fields), this.#client.pipeline()),
        'HDEL',
      );
    });
  }

  /** Delete every key of this project (every view's values). */
  async deleteProject(): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    await this.#scanProject(async (keys) => {
      deleted += await this.#command(() => this.#client.del(...keys));
    });
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fast?.close();
    this.#fast = undefined;
    await this.#reopening;
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  /**
   * The replies of the HMGETs, in order: over the fast read connection when it is up, else
   * (or when it fails under them: reads are idempotent) over the ioredis client.
   */
  async #hmget(commands: readonly { group: ReadGroup; key: Buffer }[]): Promise<HmgetReply[]> {
    const fast = this.#fast;
    if (fast?.usable) {
      try {
        return await Promise.all(
          fast.hmget(commands.map(({ group, key }) => ({ key, fields: group.encoded }))),
        );
      } catch (error) {
        if (error instanceof HmgetError && error.replied) {
          throw new VigilError('VIGIL_COMPONENT_FAILED', `redis online store: HMGET: ${error.message}`, {
            cause: error,
          });
        }
        // The connection failed: answer from the ioredis client below.
      }
    }
    this.#reopenFast();
    if (commands.length === 1) {
      const { key, group } = commands[0]!;
      return [await this.#command(() => this.#client.hmgetBuffer(key, ...group.fields))];
    }
    const pipe = this.#client.pipeline();
    for (const { key, group } of commands) pipe.hmgetBuffer(key, ...group.fields);
    return (await this.#exec(pipe, 'HMGET')) as HmgetReply[];
  }

  /** Open a new fast read connection in the background, at most once a second. */
  #reopenFast(): void {
    const target = this.#fastTarget;
    if (!target || this.#closed || this.#reopening || this.#fast?.usable) return;
    const now = Date.now();
    if (now - this.#lastOpenAttempt < 1000) return;
    this.#lastOpenAttempt = now;
    this.#reopening = HmgetConnection.open(target)
      .then(
        (fast) => {
          if (this.#closed) fast.close();
          else this.#fast = fast;
        },
        () => undefined,
      )
      .finally(() => {
        this.#reopening = undefined;
      });
  }

  /** The read groups of `reads`, reused while the same views and feature lists come again. */
  #groupsOf(reads: readonly { view: FeatureView; features: readonly number[] }[]): ReadGroups {
    const cached = this.#readGroups;
    if (
      cached &&
      cached.reads === reads &&
      cached.views.length === reads.length &&
      reads.every((r, i) => r.view === cached.views[i] && r.features === cached.features[i])
    ) {
      return cached;
    }
    const bySignature = new Map<string, ReadGroup>();
    reads.forEach(({ view, features }, read) => {
      const enc = this.#encoding(view);
      let group = bySignature.get(enc.signature);
      if (!group) {
        group = {
          entities: view.entities,
          key: enc.key,
          fields: [],
          encoded: { count: 0, bytes: Buffer.alloc(0) },
          parts: [],
        };
        bySignature.set(enc.signature, group);
      }
      group.parts.push({ read, offset: group.fields.length, n: features.length });
      for (const i of features) {
        const field = enc.fields[i];
        if (!field) {
          throw new VigilError(
            'VIGIL_FEATURE_INVALID_REQUEST',
            `redis online store: view '${view.name}' has no feature at index ${i}`,
          );
        }
        group.fields.push(field);
      }
      group.fields.push(enc.ts);
    });
    for (const group of bySignature.values()) group.encoded = encodeFields(group.fields);
    const groups: ReadGroups = {
      reads,
      views: reads.map((r) => r.view),
      features: reads.map((r) => r.features),
      groups: [...bySignature.values()],
    };
    this.#readGroups = groups;
    return groups;
  }

  #encoding(view: FeatureView): ViewEncoding {
    let enc = this.#encodings.get(view);
    if (!enc) {
      const keys = view.entities.map((name) => ({ name, dtype: view.entityDtypes?.[name] ?? 'string' }));
      enc = {
        fields: view.features.map((f) => featureField(view.name, f.name)),
        ts: timestampField(view.name),
        dtypes: view.features.map((f) => f.dtype),
        key: entityKeyEncoder(keys, this.#project),
        signature: JSON.stringify(keys.map((k) => [k.name, k.dtype])),
      };
      this.#encodings.set(view, enc);
    }
    return enc;
  }

  /** SCAN the keys ending with the project whose head is a whole entity key, in batches. */
  async #scanProject(each: (keys: Buffer[]) => Promise<void>): Promise<void> {
    const pattern = `*${this.#project.replace(/[*?[\]\\]/g, '\\$&')}`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#command(() =>
        this.#client.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000),
      );
      cursor = next.toString();
      const ours = keys.filter(
        (k) =>
          entityKeyLength(k) === k.length - this.#projectBytes.length &&
          k.subarray(k.length - this.#projectBytes.length).equals(this.#projectBytes),
      );
      if (ours.length > 0) await each(ours);
    } while (cursor !== '0');
  }

  async #command<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new VigilError('VIGIL_COMPONENT_FAILED', `redis online store: ${String(error)}`, {
        cause: error,
      });
    }
  }

  async #exec(pipeline: ReturnType<Redis['pipeline']>, what: string): Promise<unknown[]> {
    const results = await this.#command(() => pipeline.exec());
    if (!results)
      throw new VigilError('VIGIL_COMPONENT_FAILED', `redis online store: ${what} pipeline was aborted`);
    return results.map(([error, value]) => {
      if (error)
        throw new VigilError('VIGIL_COMPONENT_FAILED', `redis online store: ${what}: ${error.message}`, {
          cause: error,
        });
      return value;
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'redis online store is closed');
  }
}
