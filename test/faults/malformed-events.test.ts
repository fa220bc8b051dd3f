/**
 * Acceptance: 10,000 malformed events of thirteen kinds, mixed into a valid simulated
 * trial, go through the embedded Source (file-log) → bronze → silver on the local lake.
 * Every malformed event must end in quarantine with the reason (and field) its kind
 * implies, nothing may crash, and the counts must reconcile:
 * events in = bronze = silver + duplicates + quarantined.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { fileLogSource } from '@vigil/adapter-file-log';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { createRng, type Source } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import type { ClinicalEvent } from '@vigil/job-adverse-events';
import {
  createMedallion,
  MAX_PAYLOAD_BYTES,
  type Medallion,
  QUARANTINE_PATH,
  type SilverResult,
  simulateTrial,
} from '@vigil/job-adverse-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MALFORMED = 10_000;
const OVERSIZED = 120;
const START = Date.UTC(2026, 0, 5);

type Kind =
  | 'bad_json'
  | 'wrong_type'
  | 'unknown_patient'
  | 'impossible_value'
  | 'future_timestamp'
  | 'missing_unit'
  | 'duplicate_id'
  | 'oversized'
  | 'missing_field'
  | 'unknown_unit'
  | 'invalid_origin'
  | 'wrong_topic'
  | 'unknown_kind';
const KINDS: Kind[] = [
  'bad_json',
  'wrong_type',
  'unknown_patient',
  'impossible_value',
  'future_timestamp',
  'missing_unit',
  'duplicate_id',
  'oversized',
  'missing_field',
  'unknown_unit',
  'invalid_origin',
  'wrong_topic',
  'unknown_kind',
];

interface Outgoing {
  topic: string;
  key: string;
  value: string;
  /** Expected quarantine reason and field; undefined for a valid event. */
  expect?: { kind: Kind; reason: string; field: string | null };
}

type Measured = Extract<ClinicalEvent, { kind: 'vital' | 'lab' | 'dose' | 'symptom' }>;
const DAY_MS = 86_400_000;

/** A malformed version of a valid event, with the reason and field silver must give it. */
function corrupt(kind: Kind, event: Measured, topic: string, id: string): Omit<Outgoing, 'key'> {
  const copy: Record<string, unknown> = { ...event, eventId: id };
  const done = (reason: string, field: string | null, value = JSON.stringify(copy), on = topic) => ({
    topic: on,
    value,
    expect: { kind, reason, field },
  });
  const numeric = event.kind === 'dose' ? 'doseMg' : event.kind === 'symptom' ? 'severity' : 'value';
  switch (kind) {
    case 'bad_json': {
      const json = JSON.stringify(copy);
      return done('invalid_json', null, json.slice(0, Math.floor(json.length / 2)));
    }
    case 'wrong_type':
      copy[numeric] = `${String(copy[numeric])} units`;
      return done('wrong_type', numeric);
    case 'unknown_patient':
      copy.patientId = `P-9${id.slice(-5)}`;
      return done('unknown_patient', 'patientId');
    case 'impossible_value':
      copy[numeric] = event.kind === 'dose' ? -100 : event.kind === 'symptom' ? 42 : 1e6;
      return done('out_of_range', numeric);
    case 'future_timestamp':
      copy.observedAt = new Date(Date.parse(event.recordedAt) + 3 * DAY_MS).toISOString();
      return done('future_timestamp', 'observedAt');
    case 'missing_unit':
      delete copy.unit;
      return done('missing_unit', 'unit');
    case 'duplicate_id':
      return done('duplicate_event_id', 'eventId', JSON.stringify(event));
    case 'oversized':
      copy.note = 'x'.repeat(MAX_PAYLOAD_BYTES + 100);
      return done('oversized', null);
    case 'missing_field':
      delete copy.patientId;
      return done('missing_field', 'patientId');
    case 'unknown_unit':
      copy.unit = 'furlongs';
      return done('unknown_unit', 'unit');
    case 'invalid_origin':
      copy.origin = 'fax';
      return done('invalid_value', 'origin');
    case 'wrong_topic':
      return done('wrong_topic', 'kind', JSON.stringify(copy), topic === 'labs' ? 'vitals' : 'labs');
    case 'unknown_kind':
      copy.kind = 'telepathy';
      return done('unknown_kind', 'kind');
  }
}

/** The valid trial with 10k malformed events mixed in (a duplicate always after its original). */
function buildStream(): { stream: Outgoing[]; valid: number; perKind: Record<Kind, number> } {
  const sim = simulateTrial({
    seed: 17,
    patients: 24,
    days: 16,
    sites: 3,
    mess: { malformedRate: 0, resendRate: 0 },
  });
  const valid: Outgoing[] = sim.events.map((e) => ({ topic: e.topic, key: e.key, value: e.value }));
  const measured = valid
    .map((e, index) => ({ index, event: JSON.parse(e.value) as ClinicalEvent, topic: e.topic, key: e.key }))
    .filter((e): e is typeof e & { event: Measured } =>
      ['vital', 'lab', 'dose', 'symptom'].includes(e.event.kind),
    );
  const withUnit = measured.filter((e) => e.event.kind === 'vital' || e.event.kind === 'lab');
  const rng = createRng(99);
  const perKind = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  const spread = (MALFORMED - OVERSIZED) / (KINDS.length - 1);
  const usedForDuplicates = new Set<number>();
  const inserts: { after: number; at: number; item: Outgoing }[] = [];
  for (let n = 0; n < MALFORMED; n++) {
    const kind: Kind =
      n < OVERSIZED
        ? 'oversized'
        : KINDS.filter((k) => k !== 'oversized')[Math.floor((n - OVERSIZED) / spread)]!;
    const pool =
      kind === 'missing_unit' || kind === 'unknown_unit' || kind === 'wrong_topic' ? withUnit : measured;
    let template = pool[rng.int(pool.length)]!;
    if (kind === 'duplicate_id') {
      while (usedForDuplicates.has(template.index)) template = pool[rng.int(pool.length)]!;
      usedForDuplicates.add(template.index);
    }
    const id = `ev-bad-${String(n).padStart(6, '0')}`;
    const item = { key: template.key, ...corrupt(kind, template.event, template.topic, id) };
    perKind[kind]++;
    // Anywhere in the stream for most kinds; a duplicate only after its original.
    const after = kind === 'duplicate_id' ? template.index : -1;
    inserts.push({ after, at: after + 1 + rng.int(valid.length - after), item });
  }
  inserts.sort((a, b) => a.at - b.at);
  const stream: Outgoing[] = [];
  let next = 0;
  for (const [i, event] of valid.entries()) {
    while (next < inserts.length && inserts[next]!.at <= i) stream.push(inserts[next++]!.item);
    stream.push(event);
  }
  while (next < inserts.length) stream.push(inserts[next++]!.item);
  return { stream, valid: valid.length, perKind };
}

const PREFIX = 'trial-7.';
let ctx: TestContext;
let source: Source;
let lake: LocalLakeStore;
let medallion: Medallion;
let db: DuckDBInstance;
let stream: Outgoing[];
let perKind: Record<Kind, number>;
let validCount: number;
const expected = new Map<string, NonNullable<Outgoing['expect']>>();
let consumed = 0;
let bronzeRows = 0;
let silver: SilverResult;

beforeAll(async () => {
  ({ stream, perKind, valid: validCount } = buildStream());
  ctx = await createTestContext();
  source = await fileLogSource.create(fileLogSource.config.parse({ defaultPartitions: 3 }), ctx);
  lake = await LocalLakeStore.open({ root: join(ctx.workdir, 'lake'), defaultBranch: 'main' });
  // Topics carry a deployment prefix, as `job.topicPrefix` gives them: bronze keeps the topic as
  // received and the wrong-topic check still sees through the prefix.
  medallion = await createMedallion({ lake, workdir: join(ctx.workdir, 'medallion'), topicPrefix: PREFIX });
  db = await DuckDBInstance.create(':memory:', { threads: '1' });

  const topics = [...new Set(stream.map((e) => `${PREFIX}${e.topic}`))].sort();
  for (const topic of topics) await source.ensureTopic(topic, { partitions: 3 });
  for (let i = 0; i < stream.length; i += 5000) {
    const chunk = stream.slice(i, i + 5000);
    const positions = await source.produce(
      chunk.map((e, j) => ({
        topic: `${PREFIX}${e.topic}`,
        key: e.key,
        value: e.value,
        timestamp: START + i + j,
      })),
    );
    positions.forEach((p, j) => {
      const e = chunk[j]!;
      if (e.expect) expected.set(`${p.topic}/${p.partition}/${p.offset}`, e.expect);
    });
  }

  // Source → bronze: poll, write, commit the lake, then the offsets (at-least-once).
  await lake.createBranch('ingest', 'main');
  const consumer = await source.consumer({ group: 'bronze', topics });
  for (;;) {
    const batch = await consumer.poll({ maxRecords: 8000, timeoutMs: 200 });
    if (batch.length === 0) break;
    const written = await medallion.writeBronze('ingest', batch);
    bronzeRows += written.rows;
    await lake.commit('ingest', 'bronze batch', { allowEmpty: true });
    const next = new Map<string, { topic: string; partition: number; offset: string }>();
    for (const r of batch)
      next.set(`${r.topic}/${r.partition}`, {
        topic: r.topic,
        partition: r.partition,
        offset: String(BigInt(r.offset) + 1n),
      });
    await consumer.commit([...next.values()]);
    consumed += batch.length;
  }
  await consumer.close();
  silver = await medallion.buildSilver('ingest');
  await lake.commit('ingest', 'silver');
}, 120_000);

afterAll(async () => {
  db?.closeSync();
  await medallion?.close();
  await lake?.close();
  await source?.close();
  await ctx?.cleanup();
});

async function quarantine(): Promise<{ key: string; reason: string; field: string | null; bytes: number }[]> {
  const file = await lake.locate('ingest', QUARANTINE_PATH);
  const connection = await db.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT topic, "partition", "offset", reason, field, strlen(raw) AS bytes FROM read_parquet('${file}')`,
    );
    return (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r) => ({
      key: `${String(r.topic)}/${String(r.partition)}/${String(r.offset)}`,
      reason: String(r.reason),
      field: r.field === null ? null : String(r.field),
      bytes: Number(r.bytes),
    }));
  } finally {
    connection.closeSync();
  }
}

describe('10k malformed events through Source → bronze → silver', () => {
  it('mixes 10,000 malformed events of thirteen kinds into the valid trial', () => {
    expect(Object.values(perKind).reduce((a, b) => a + b, 0)).toBe(MALFORMED);
    expect(Object.keys(perKind)).toHaveLength(13);
    for (const kind of KINDS) expect(perKind[kind], kind).toBeGreaterThanOrEqual(OVERSIZED);
    expect(stream.length).toBe(validCount + MALFORMED);
    expect(expected.size).toBe(MALFORMED);
  });

  it('reconciles: events in = consumed = bronze = silver + duplicates + quarantined', () => {
    expect(consumed).toBe(stream.length);
    expect(bronzeRows).toBe(stream.length);
    expect(silver.bronze).toBe(stream.length);
    expect(silver.silver + silver.duplicates + silver.quarantined).toBe(silver.bronze);
    expect(silver.quarantined).toBe(MALFORMED);
  });

  it('quarantines every malformed event, and only those, with the reason and field of its kind', async () => {
    const rows = await quarantine();
    expect(rows).toHaveLength(MALFORMED);
    const wrong: string[] = [];
    for (const row of rows) {
      const want = expected.get(row.key);
      if (!want) wrong.push(`${row.key}: a valid event quarantined as ${row.reason}`);
      else if (want.reason !== row.reason || want.field !== row.field) {
        wrong.push(
          `${row.key} (${want.kind}): ${row.reason}/${row.field}, expected ${want.reason}/${want.field}`,
        );
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    const byReason: Record<string, number> = {};
    for (const kind of KINDS) {
      const reason = [...expected.values()].find((e) => e.kind === kind)!.reason;
      byReason[reason] = (byReason[reason] ?? 0) + perKind[kind];
    }
    expect(silver.reasons).toEqual(byReason);
  });

  it('keeps oversized payloads whole in quarantine (bronze is not truncated)', async () => {
    const oversized = (await quarantine()).filter((r) => r.reason === 'oversized');
    expect(oversized).toHaveLength(OVERSIZED);
    for (const r of oversized) expect(r.bytes).toBeGreaterThan(MAX_PAYLOAD_BYTES);
  });
});
