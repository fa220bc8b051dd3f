/**
 * bench/file-import — reading an SDTM-like VS extract through the file-import Source vs
 * DuckDB doing the same mapping in SQL (the peer: what a team would hand-write with DuckDB).
 *
 *   node --conditions=@vigil/source --import tsx bench/file-import/import.ts [rows=200000]
 *
 * Both produce the same ClinicalEvent JSON per row — checked for every row of every round (same
 * keys, same values, same order), or the run fails with a non-zero exit; the times cover reading
 * the file and handing every row's JSON to the caller. The order alternates between rounds.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { fileImportSource } from '@vigil/adapter-file-import';
import { type ComponentContext, createLogger } from '@vigil/core';
import { clinicalEventSchema } from '../../jobs/adverse-events/src/domain/event-schema.js';

const rows = Number(process.argv[2] ?? 200_000);
const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-file-import-'));
const csv = join(dir, 'vs.csv');
const tests: [string, string, number, string][] = [
  ['HR', 'heart_rate', 72, 'beats/min'],
  ['TEMP', 'temperature', 36.8, 'C'],
  ['SYSBP', 'systolic_bp', 121, 'mmHg'],
  ['OXYSAT', 'spo2', 97, '%'],
];
const lines = ['STUDYID,DOMAIN,USUBJID,SUBJID,SITEID,VSSEQ,VSTESTCD,VSSTRESN,VSSTRESU,VSDTC'];
for (let i = 0; i < rows; i++) {
  const [code, , value, unit] = tests[i % 4]!;
  const subject = String(Math.floor(i / 200)).padStart(5, '0');
  const minute = i % 1440;
  lines.push(
    `VIG-001,VS,VIG-001-${subject},${subject},site-0${(Math.floor(i / 200) % 4) + 1},${(i % 200) + 1},${code},${value + (i % 7)},${unit},2026-01-${String(5 + (i % 20)).padStart(2, '0')}T${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00`,
  );
}
await writeFile(csv, `${lines.join('\n')}\n`);
const bytes = (await stat(csv)).size;

async function vigil(): Promise<string[]> {
  const ctx = {
    runId: 'bench',
    workdir: dir,
    seed: 1,
    // The job's record schema, as the kernel passes it: the mapping is checked against it.
    schema: clinicalEventSchema,
    logger: createLogger({ level: 'silent' }),
    signal: new AbortController().signal,
  } as unknown as ComponentContext;
  const source = await fileImportSource.create(
    fileImportSource.config.parse({
      files: [
        {
          path: csv,
          topic: 'vitals',
          mapping: {
            eventId: { columns: ['DOMAIN', 'USUBJID', 'VSSEQ'], separator: '-' },
            kind: 'vital',
            origin: 'ehr',
            patientId: 'SUBJID',
            siteId: 'SITEID',
            observedAt: 'VSDTC',
            measure: { column: 'VSTESTCD', values: Object.fromEntries(tests.map(([c, m]) => [c, m])) },
            value: 'VSSTRESN',
            unit: { column: 'VSSTRESU', values: { 'beats/min': 'bpm', C: '°C' }, otherwise: 'keep' },
          },
        },
      ],
    }),
    ctx,
  );
  const consumer = await source.consumer({ group: 'bench', topics: ['vitals'] });
  const out: string[] = [];
  const decoder = new TextDecoder();
  for (;;) {
    const batch = await consumer.poll({ maxRecords: 10_000, timeoutMs: 0 });
    if (batch.length === 0) break;
    for (const r of batch) out.push(decoder.decode(r.value));
  }
  await source.close();
  return out;
}

async function duckdb(): Promise<string[]> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  await c.run(`SET TimeZone = 'UTC'`);
  const measures = tests.map(([code, m]) => `WHEN '${code}' THEN '${m}'`).join(' ');
  const reader = await c.runAndReadAll(`
    SELECT to_json({
      eventId: DOMAIN || '-' || USUBJID || '-' || VSSEQ, kind: 'vital', patientId: SUBJID, siteId: SITEID,
      observedAt: strftime(VSDTC::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%g') || 'Z',
      recordedAt: strftime(VSDTC::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%g') || 'Z',
      origin: 'ehr', measure: CASE VSTESTCD ${measures} END, value: VSSTRESN::DOUBLE,
      unit: CASE VSSTRESU WHEN 'beats/min' THEN 'bpm' WHEN 'C' THEN '°C' ELSE VSSTRESU END
    })::VARCHAR AS j
    FROM read_csv('${csv}', header = true, all_varchar = true)`);
  const out = reader.getColumns()[0]!.map(String);
  c.closeSync();
  db.closeSync();
  return out;
}

async function time<T>(
  name: string,
  run: () => Promise<T>,
): Promise<{ name: string; ms: number; result: T }> {
  const started = performance.now();
  const result = await run();
  return { name, ms: performance.now() - started, result };
}

try {
  await vigil(); // warm-up (module loading, DuckDB start)
  await duckdb();
  const results: { name: string; ms: number; result: string[] }[] = [];
  for (let round = 0; round < 3; round++) {
    if (round % 2 === 0) results.push(await time('file-import', vigil), await time('duckdb-sql', duckdb));
    else results.push(await time('duckdb-sql', duckdb), await time('file-import', vigil));
  }
  // Every row of every round, as a key-sorted list of [key, value] pairs (extra or missing keys differ).
  const canonical = (json: string) => {
    const o = JSON.parse(json) as Record<string, unknown>;
    return JSON.stringify(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  };
  const reference = results.find((r) => r.name === 'duckdb-sql')!.result.map(canonical);
  if (reference.length !== rows)
    throw new Error(`duckdb-sql returned ${reference.length} rows, expected ${rows}`);
  for (const { name, result } of results) {
    if (result.length !== rows) throw new Error(`${name} returned ${result.length} rows, expected ${rows}`);
    for (let i = 0; i < rows; i++) {
      if (canonical(result[i]!) !== reference[i]) {
        throw new Error(`${name}: row ${i} differs from the DuckDB mapping:\n${result[i]}\n${reference[i]}`);
      }
    }
  }
  const best = (name: string) => Math.min(...results.filter((r) => r.name === name).map((r) => r.ms));
  const vigilMs = best('file-import');
  const peerMs = best('duckdb-sql');
  console.log(`extract: ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB CSV (best of 3)`);
  console.log(
    `file-import Source : ${vigilMs.toFixed(0)} ms  (${Math.round(rows / (vigilMs / 1000))} rows/s)`,
  );
  console.log(`DuckDB SQL mapping : ${peerMs.toFixed(0)} ms  (${Math.round(rows / (peerMs / 1000))} rows/s)`);
  console.log(`ratio file-import / duckdb: ${(vigilMs / peerMs).toFixed(2)}x`);
  console.log(`outputs: all ${rows} rows identical in every round (${results.length} runs)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
