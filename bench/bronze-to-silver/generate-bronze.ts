/**
 * Bronze for the bronze → silver bench: a large simulated trial ingested through the real
 * `writeBronze` into a local lake (each batch committed on `main`, as the job's ingest does),
 * kept and reused across runs of the same size.
 *
 * `simulateTrial` holds a whole trial in memory, so the trial is simulated in chunks of
 * patients (each its own seed, patient ids renumbered into one trial), spooled into a DuckDB
 * file, and replayed in arrival order (recordedAt) with per-topic, per-site-partition
 * offsets — what a consumer of the job's topics would see — in batches of the job's default
 * poll size.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { type BronzeRecord, createMedallion, simulateTrial } from '@vigil/job-adverse-events';

export interface BronzeSpec {
  seed: number;
  patients: number;
  days: number;
  sites: number;
  /** Patients simulated at a time (each chunk is its own `simulateTrial`, seed + chunk index). */
  chunkPatients: number;
  /** Records per `writeBronze` call (one consumer poll), in arrival order; each batch is committed. */
  batchRecords: number;
}

export interface GeneratedBronze {
  lake: LocalLakeStore;
  /** Events simulated (= bronze rows). */
  events: number;
  /** Events per site (the record key). */
  bySite: Record<string, number>;
  /** Bronze Parquet objects on main. */
  files: number;
  /** Bytes of those objects. */
  bytes: number;
  /** Seconds the generation took, simulation included (0 when reused). */
  seconds: number;
  /** Seconds `writeBronze` + commit took over all batches (when generated). */
  ingestSeconds: number;
  reused: boolean;
}

const PATIENT = /"patientId":"P-(\d{6})"/;
const RECORDED = /"recordedAt":"([^"]+)"/;

/**
 * Chunks of patients are separate simulations, so their patient ids restart at P-000001:
 * renumber them into one trial (P-9xxxxx, the simulator's unknown patients, stay unknown).
 */
function renumber(payload: string, chunk: number, chunkPatients: number): string {
  const m = PATIENT.exec(payload);
  if (!m) return payload;
  const n = Number(m[1]);
  if (n > chunkPatients) return payload;
  const id = `P-${String(chunk * chunkPatients + n).padStart(6, '0')}`;
  return payload.replace(PATIENT, `"patientId":"${id}"`);
}

/** Generate the bronze lake under `dir` (or reuse the one there for the same spec). */
export async function ensureBronze(
  dir: string,
  spec: BronzeSpec,
  log: (line: string) => void,
): Promise<GeneratedBronze> {
  const markerPath = join(dir, 'bronze.json');
  const marker = await readFile(markerPath, 'utf8')
    .then(
      (t) =>
        JSON.parse(t) as {
          spec: BronzeSpec;
          events: number;
          bySite: Record<string, number>;
          ingestSeconds: number;
        },
    )
    .catch(() => undefined);
  if (marker && JSON.stringify(marker.spec) === JSON.stringify(spec)) {
    const lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
    const objects = (await lake.list('main', 'bronze/')).filter((o) => o.path.endsWith('.parquet'));
    log(`reusing bronze in ${dir} (${marker.events} events)`);
    return {
      lake,
      events: marker.events,
      bySite: marker.bySite,
      files: objects.length,
      bytes: objects.reduce((a, o) => a + o.size, 0),
      seconds: 0,
      ingestSeconds: marker.ingestSeconds,
      reused: true,
    };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'spill'), { recursive: true });
  const began = performance.now();
  const db = await DuckDBInstance.create(join(dir, 'feed.duckdb'), {
    threads: '2',
    memory_limit: '4GB',
    temp_directory: join(dir, 'spill'),
  });
  const c = await db.connect();
  await c.run(`SET TimeZone = 'UTC'`);
  await c.run(`CREATE TABLE feed (chunk INTEGER, seq INTEGER, topic VARCHAR, key VARCHAR, payload VARCHAR,
    recorded_ms BIGINT)`);
  const chunks = Math.ceil(spec.patients / spec.chunkPatients);
  for (let chunk = 0; chunk < chunks; chunk++) {
    const patients = Math.min(spec.chunkPatients, spec.patients - chunk * spec.chunkPatients);
    const sim = simulateTrial({ seed: spec.seed + chunk, patients, days: spec.days, sites: spec.sites });
    const appender = await c.createAppender('feed');
    let recorded = 0;
    sim.events.forEach((e, seq) => {
      const payload = renumber(e.value, chunk, spec.chunkPatients);
      // Events come sorted by recordedAt; a payload cut in half keeps its predecessor's time.
      const at = RECORDED.exec(payload);
      if (at) recorded = Date.parse(at[1]!);
      appender.appendInteger(chunk);
      appender.appendInteger(seq);
      appender.appendVarchar(e.topic);
      appender.appendVarchar(e.key);
      appender.appendVarchar(payload);
      appender.appendBigInt(BigInt(recorded));
      appender.endRow();
    });
    appender.closeSync();
    log(`  simulated chunk ${chunk + 1}/${chunks}: ${sim.events.length} events`);
  }
  // Arrival order and offsets as a Kafka consumer would see them: one partition per site.
  await c.run(`CREATE TABLE arrivals AS
    SELECT row_number() OVER (ORDER BY recorded_ms, chunk, seq) - 1 AS n, topic,
      CAST(regexp_extract(key, '(\\d+)$') AS INTEGER) - 1 AS "partition",
      row_number() OVER (PARTITION BY topic, key ORDER BY recorded_ms, chunk, seq) - 1 AS "offset",
      key, payload, recorded_ms + 250 AS received_ms
    FROM feed
    ORDER BY n`);
  await c.run('DROP TABLE feed');
  await c.run('CHECKPOINT');
  const [countRow] = (await c.runAndReadAll('SELECT count(*) AS n FROM arrivals')).getRowObjectsJS();
  const events = Number(countRow?.n);
  const bySite: Record<string, number> = {};
  for (const row of (
    await c.runAndReadAll('SELECT key, count(*) AS n FROM arrivals GROUP BY key ORDER BY key')
  ).getRowObjectsJS()) {
    bySite[String(row.key)] = Number(row.n);
  }
  const lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
  const medallion = await createMedallion({ lake, workdir: join(dir, 'ingest-work') });
  const ingestBegan = performance.now();
  try {
    const result = await c.stream(
      `SELECT topic, "partition", "offset", key, payload, received_ms FROM arrivals`,
    );
    let batch: BronzeRecord[] = [];
    let written = 0;
    const flush = async () => {
      const { rows } = await medallion.writeBronze('main', batch);
      await lake.commit('main', `bronze: ${batch.length} records`, { allowEmpty: true });
      written += rows;
      if (Math.floor(written / 1_000_000) !== Math.floor((written - rows) / 1_000_000)) {
        log(`  bronze: ${written} of ${events} records`);
      }
      batch = [];
    };
    for await (const rows of result.yieldRows()) {
      for (const [topic, partition, offset, key, payload, received] of rows) {
        batch.push({
          topic: String(topic),
          partition: Number(partition),
          offset: String(offset),
          key: String(key),
          value: String(payload),
          timestamp: Number(received),
        });
        if (batch.length === spec.batchRecords) await flush();
      }
    }
    if (batch.length > 0) await flush();
    if (written !== events) throw new Error(`writeBronze took ${written} of ${events} records`);
  } finally {
    await medallion.close();
    c.closeSync();
    db.closeSync();
    await rm(join(dir, 'feed.duckdb'), { force: true });
    await rm(join(dir, 'spill'), { recursive: true, force: true });
  }
  const ingestSeconds = (performance.now() - ingestBegan) / 1000;
  const objects = (await lake.list('main', 'bronze/')).filter((o) => o.path.endsWith('.parquet'));
  await writeFile(markerPath, JSON.stringify({ spec, events, bySite, ingestSeconds }));
  return {
    lake,
    events,
    bySite,
    files: objects.length,
    bytes: objects.reduce((n, o) => n + o.size, 0),
    seconds: (performance.now() - began) / 1000,
    ingestSeconds,
    reused: false,
  };
}
