import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { LakeStore, SourceRecord } from '@vigil/core';
import { VigilError } from '@vigil/core';
import { TOPIC_OF_KIND } from '../domain/topics.js';
import { type DuckDBSession, readParquet, sqlString } from './duckdb-session.js';
import { faultPoint } from './fault-point.js';
import type { LakeFiles } from './lake-files.js';
import { OffsetLedger, parseOffset } from './offset-ledger.js';

/** A record as consumed from a Source (a `SourceRecord`; headers are not kept in bronze). */
export type BronzeRecord = Pick<SourceRecord, 'topic' | 'partition' | 'key' | 'timestamp'> & {
  offset: string | number | bigint;
  value: Uint8Array | string;
};

export interface BronzeWriteResult {
  /** Rows added to bronze. */
  rows: number;
  /** Records skipped because bronze already held their (topic, partition, offset). */
  skipped: number;
  /** Lake paths staged. */
  paths: string[];
  /** Milliseconds per phase: ledger look-ups, rows into DuckDB (payload fields parsed in JS), Parquet encoding, staging in the lake, ledger save. */
  phases: { dedupe: number; append: number; encode: number; put: number; ledger: number };
}

/** Where bronze lives in the lake. */
export const BRONZE_PREFIX = 'bronze/';

const KIND_OF_TOPIC: Record<string, string> = Object.fromEntries(
  Object.entries(TOPIC_OF_KIND).map(([kind, topic]) => [topic, kind]),
);
const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

function checkRecord(record: BronzeRecord, i: number): bigint {
  const at = `records[${i}]`;
  const bad = (field: string, reason: string) =>
    new VigilError('VIGIL_DATA_INVALID_EVENT', `${at}.${field} ${reason}`, {
      details: { field: `${at}.${field}` },
    });
  if (typeof record.topic !== 'string' || record.topic.length === 0)
    throw bad('topic', 'must be a non-empty string');
  if (!Number.isInteger(record.partition) || record.partition < 0) {
    throw bad('partition', 'must be a non-negative integer');
  }
  if (!(record.value instanceof Uint8Array) && typeof record.value !== 'string') {
    throw bad('value', 'must be a Uint8Array or a string');
  }
  if (!Number.isFinite(record.timestamp)) throw bad('timestamp', 'must be milliseconds since epoch');
  if (record.key !== null && record.key !== undefined && typeof record.key !== 'string') {
    throw bad('key', 'must be a string or null');
  }
  return parseOffset(record.offset, `${at}.offset`);
}

const DAY_MS = 86_400_000;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/**
 * The partition columns of one payload, parsed in JS (much cheaper than DuckDB's JSON
 * functions for small documents): `siteId` when it is a string, and the UTC day of
 * `observedAt` (days since the epoch) when it is an ISO-8601 timestamp. Either is null
 * when absent or malformed; silver does the real validation.
 */
function partitionFields(payload: string): { siteId: string | null; observedDay: number | null } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload);
  } catch {
    return { siteId: null, observedDay: null };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return { siteId: null, observedDay: null };
  const { siteId, observedAt } = doc as { siteId?: unknown; observedAt?: unknown };
  let observedDay: number | null = null;
  if (typeof observedAt === 'string' && ISO_TIMESTAMP.test(observedAt)) {
    const ms = Date.parse(observedAt);
    if (Number.isFinite(ms)) observedDay = Math.floor(ms / DAY_MS);
  }
  return { siteId: typeof siteId === 'string' ? siteId : null, observedDay };
}

/**
 * Append consumed records to bronze exactly as received: raw payload, topic, partition,
 * offset, key and receive time, plus `site_id` and `observed_date` where the payload parses
 * (`_unparsed` otherwise). Parquet under `bronze/date=…/site=…/` — the date the event was
 * received (ingestion date: late events land with their arrival, silver places them by
 * `observedAt`) and the site — with the event kind as a column; files named by the
 * topic, partition and offset range they hold; an offset ledger makes re-delivery a no-op.
 * Stages on `branch`; the caller commits.
 */
export async function writeBronze(
  db: DuckDBSession,
  lake: LakeStore,
  files: LakeFiles,
  scratch: string,
  branch: string,
  records: readonly BronzeRecord[],
  topicPrefix = '',
): Promise<BronzeWriteResult> {
  let clock = performance.now();
  const phases = { dedupe: 0, append: 0, encode: 0, put: 0, ledger: 0 };
  const lap = (phase: keyof typeof phases) => {
    const now = performance.now();
    phases[phase] += now - clock;
    clock = now;
  };
  const offsets = records.map(checkRecord);
  const ledger = new OffsetLedger(lake, branch);
  const fresh: { record: BronzeRecord; offset: bigint }[] = [];
  await ledger.preload(records.map((r) => r.topic));
  // Within a partition a poll hands out increasing offsets; only an offset at or below the
  // last one taken can repeat one of this batch (then a set of the partition's offsets decides).
  const taken = new Map<string, { last: bigint; all?: Set<bigint>; offsets: bigint[] }>();
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const offset = offsets[i]!;
    const key = `${record.topic}\u0000${record.partition}`;
    let part = taken.get(key);
    if (part && offset <= part.last) {
      part.all ??= new Set(part.offsets);
      if (part.all.has(offset)) continue;
    }
    if (ledger.holds(record.topic, record.partition, offset)) continue;
    if (!part) taken.set(key, (part = { last: offset, offsets: [] }));
    if (offset > part.last) part.last = offset;
    part.offsets.push(offset);
    part.all?.add(offset);
    fresh.push({ record, offset });
  }
  lap('dedupe');
  if (fresh.length === 0) return { rows: 0, skipped: records.length, paths: [], phases };

  const groups = new Map<string, { topic: string; partition: number; offsets: bigint[] }>();
  for (const { record, offset } of fresh) {
    const key = `${record.topic}\u0000${record.partition}`;
    const group = groups.get(key) ?? { topic: record.topic, partition: record.partition, offsets: [] };
    group.offsets.push(offset);
    groups.set(key, group);
  }
  const spans = [...groups.values()]
    .map((g) => {
      const sorted = g.offsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return `${safeName(g.topic)}-p${g.partition}-${sorted[0]}-${sorted[sorted.length - 1]}`;
    })
    .sort();
  const name =
    spans.length === 1
      ? spans[0]!
      : `batch-${createHash('sha256').update(spans.join('\n')).digest('hex').slice(0, 20)}`;

  const outDir = join(scratch, `bronze-${name}-${process.pid}-${Date.now()}`);
  const table = `bronze_in_${Math.random().toString(36).slice(2, 10)}`;
  const logicalTopic = topicPrefix
    ? `CASE WHEN starts_with(topic, ${sqlString(topicPrefix)}) THEN substr(topic, ${topicPrefix.length + 1}) ELSE topic END`
    : 'topic';
  const kindCase = `CASE ${logicalTopic} ${Object.entries(KIND_OF_TOPIC)
    .map(([topic, kind]) => `WHEN ${sqlString(topic)} THEN ${sqlString(kind)}`)
    .join(' ')} ELSE regexp_replace(topic, '[^A-Za-z0-9_.-]', '_', 'g') END`;
  const paths: string[] = [];
  try {
    await mkdir(outDir, { recursive: true });
    await db.withConnection(async (c) => {
      await c.run(
        `CREATE TABLE ${table} (topic VARCHAR, "partition" INTEGER, "offset" BIGINT, key VARCHAR, payload VARCHAR, received_ms BIGINT, site_id VARCHAR, observed_day INTEGER)`,
      );
      try {
        const appender = await c.raw.createAppender(table);
        const decoder = new TextDecoder('utf-8', { fatal: false });
        for (const { record, offset } of fresh) {
          appender.appendVarchar(record.topic);
          appender.appendInteger(record.partition);
          appender.appendBigInt(offset);
          if (record.key === null || record.key === undefined) appender.appendNull();
          else appender.appendVarchar(record.key);
          const payload = typeof record.value === 'string' ? record.value : decoder.decode(record.value);
          appender.appendVarchar(payload);
          appender.appendBigInt(BigInt(Math.trunc(record.timestamp)));
          const { siteId, observedDay } = partitionFields(payload);
          if (siteId === null) appender.appendNull();
          else appender.appendVarchar(siteId);
          if (observedDay === null) appender.appendNull();
          else appender.appendInteger(observedDay);
          appender.endRow();
        }
        appender.closeSync();
        lap('append');
        await c.run(`
          COPY (
            WITH fields AS (
              SELECT topic, "partition", "offset", key, payload, epoch_ms(received_ms) AS received_at, site_id,
                DATE '1970-01-01' + observed_day AS observed_date
              FROM ${table}
            )
            SELECT topic, "partition", "offset", key, payload, received_at, site_id, observed_date,
              (site_id IS NULL OR observed_date IS NULL) AS _unparsed,
              ${kindCase} AS kind,
              strftime(CAST(received_at AS DATE), '%Y-%m-%d') AS date,
              CASE WHEN site_id IS NULL THEN '_unparsed'
                WHEN regexp_full_match(site_id, '[A-Za-z0-9_-]{1,64}') THEN site_id ELSE '_invalid' END AS site
            FROM fields
            ORDER BY topic, "partition", "offset"
          ) TO ${sqlString(outDir)} (FORMAT parquet, PARTITION_BY (date, site), WRITE_PARTITION_COLUMNS true,
            FILENAME_PATTERN ${sqlString(`${name}_{i}`)})`);
      } finally {
        await c.run(`DROP TABLE IF EXISTS ${table}`);
      }
    });
    const written = (await readdir(outDir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
      .map((e) => join(e.parentPath, e.name))
      .sort();
    const entries = written.map(
      (file) => [BRONZE_PREFIX + relative(outDir, file).split(sep).join('/'), file] as const,
    );
    lap('encode');
    faultPoint('before-put');
    await files.putAll(branch, entries);
    faultPoint('after-put');
    lap('put');
    paths.push(...entries.map(([path]) => path));
    for (const group of groups.values()) await ledger.add(group.topic, group.partition, group.offsets);
    await ledger.save();
    lap('ledger');
    faultPoint('after-ledger');
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
  return { rows: fresh.length, skipped: records.length - fresh.length, paths, phases };
}

export interface BronzeRecovery {
  /** Bronze Parquet that was staged on the branch but held by no commit (a writer killed mid-batch). */
  adopted: string[];
  /** Records in those files, now in the offset ledger. */
  rows: number;
}

/**
 * Make the staged bronze of a writer that died mid-batch consistent before anything else is
 * written: every bronze Parquet object on `branch` that its last commit does not hold (new
 * path, or a path whose checksum differs) is *adopted* — the (topic, partition, offset) of
 * each row it holds goes into the offset ledger, which is staged. The caller commits.
 *
 * Why adopting is exact: a batch stages its files first and its ledger after, and its Source
 * offsets are committed only after the lake commit; so a staged file holds records whose
 * offsets the Source will deliver again, and which no other file holds (each write skips
 * what the ledger already holds, and this runs before any write). Adopting makes the
 * redelivery a no-op; files of the batch that never got staged are simply written again.
 * Idempotent: a kill during recovery leaves the same files staged and the ledger ranges merge.
 * Works the same on every LakeStore, because it only compares `list` at the branch with
 * `list` at its head commit (a plain S3 lake's "staged" objects are the live ones its last
 * commit marker does not hold).
 */
export async function recoverBronze(
  db: DuckDBSession,
  lake: LakeStore,
  files: LakeFiles,
  branch: string,
): Promise<BronzeRecovery> {
  const head = await lake.resolve(branch);
  const [committed, current] = await Promise.all([
    lake.list(head, BRONZE_PREFIX),
    lake.list(branch, BRONZE_PREFIX),
  ]);
  const held = new Map(committed.map((o) => [o.path, o.checksum]));
  const orphans = current
    .filter((o) => o.path.endsWith('.parquet') && held.get(o.path) !== o.checksum)
    .map((o) => o.path);
  if (orphans.length === 0) return { adopted: [], rows: 0 };
  const local = await files.localPaths(branch, orphans);
  const groups = await db.withConnection((c) =>
    c.rows(
      `SELECT topic, "partition", list("offset" ORDER BY "offset") AS offsets FROM ${readParquet(local)} GROUP BY ALL`,
    ),
  );
  const ledger = new OffsetLedger(lake, branch);
  let rows = 0;
  for (const g of groups) {
    const offsets = (g.offsets as (bigint | number)[]).map((o) => BigInt(o));
    rows += offsets.length;
    await ledger.add(String(g.topic), Number(g.partition), offsets);
  }
  await ledger.save();
  return { adopted: orphans, rows };
}
