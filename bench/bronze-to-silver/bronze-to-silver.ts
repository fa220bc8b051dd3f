/**
 * bench/bronze-to-silver — Vigil's `buildSilver` vs DuckDB running the equivalent SQL by hand,
 * over the same bronze Parquet files of a large simulated trial.
 *
 *   node --conditions=@vigil/source --import tsx bench/bronze-to-silver/bronze-to-silver.ts \
 *     [patients=17750] [days=120] [rounds=1] [--batch=1000000] [--memory=4GB] [--threads=2] [--dir=…] [--clean]
 *
 * 17,750 patients × 120 days ≈ 10M events, written to bronze through writeBronze in batches of
 * --batch records. Bronze is generated once per size and batch and kept under
 * --dir (default: the OS temp folder) for the next run; --clean removes it at the end.
 * Both sides get the same DuckDB settings (threads, memory limit, a spill folder), both read
 * the same bronze files and write the six silver tables and the quarantine; their counts
 * and the contents of every output are checked equal before any ratio is printed.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LocalLakeStore } from '@vigil/adapter-local-lake';
import {
  createMedallion,
  QUARANTINE_PATH,
  SILVER_TABLES,
  type SilverResult,
  type SilverTable,
  silverPath,
} from '@vigil/job-adverse-events';
import { type BronzeSpec, ensureBronze } from './generate-bronze.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [k, v] = a.slice(2).split('=');
      return [k, v ?? 'true'];
    }),
);
const spec: BronzeSpec = {
  seed: 1,
  patients: Number(positional[0] ?? 17_750),
  days: Number(positional[1] ?? 120),
  sites: 4,
  chunkPatients: 1000,
  batchRecords: Number(flags.batch ?? 1_000_000),
};
const rounds = Number(positional[2] ?? 1);
const threads = Number(flags.threads ?? 2);
const memoryLimit = String(flags.memory ?? '4GB');
const dir = String(
  flags.dir ??
    join(tmpdir(), 'vigil-bench-bronze-to-silver', `${spec.patients}x${spec.days}-b${spec.batchRecords}`),
);
const here = dirname(fileURLToPath(import.meta.url));
const log = (line: string) => console.log(line);
const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;
const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000)).toLocaleString('en-US');

interface Counts {
  bronze: number;
  silver: number;
  tables: Record<SilverTable, number>;
  duplicates: number;
  quarantined: number;
  reasons: Record<string, number>;
  bySite: Record<string, { bronze: number; silver: number; duplicates: number; quarantined: number }>;
}

/** Vigil: a fresh medallion (DuckDB opens inside the timing) rebuilding silver on a new branch. */
async function vigil(lake: LocalLakeStore, round: number): Promise<{ ms: number; result: SilverResult }> {
  const branch = `silver-${round}`;
  if ((await lake.listBranches()).some((b) => b.name === branch)) await lake.deleteBranch(branch);
  await lake.createBranch(branch, 'main');
  const medallion = await createMedallion({
    lake,
    workdir: join(dir, 'vigil-work'),
    threads,
    memoryLimit,
  });
  try {
    const began = performance.now();
    const result = await medallion.buildSilver(branch);
    return { ms: performance.now() - began, result };
  } finally {
    await medallion.close();
  }
}

/** The peer: hand-written SQL (hand-silver.sql) in a fresh DuckDB over the same bronze files. */
async function hand(
  bronzeFiles: readonly string[],
  round: number,
): Promise<{ ms: number; counts: Counts; out: string }> {
  const out = join(dir, `hand-out-${round}`);
  await rm(out, { recursive: true, force: true });
  await mkdir(join(dir, 'hand-spill'), { recursive: true });
  await mkdir(out, { recursive: true });
  const script = (await readFile(join(here, 'hand-silver.sql'), 'utf8'))
    .replaceAll('{{bronze}}', `[${bronzeFiles.map(sql).join(', ')}]`)
    .replaceAll('{{out}}', out);
  const began = performance.now();
  const db = await DuckDBInstance.create(':memory:', {
    threads: String(threads),
    memory_limit: memoryLimit,
    temp_directory: join(dir, 'hand-spill'),
  });
  const c = await db.connect();
  try {
    await c.run(script);
    const rows = (await c.runAndReadAll('SELECT site, what, n FROM counts')).getRowObjectsJS();
    const ms = performance.now() - began;
    return { ms, counts: countsFrom(rows), out };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

const TABLE_OF_KIND = Object.fromEntries(Object.entries(SILVER_TABLES).map(([t, k]) => [k, t])) as Record<
  string,
  SilverTable
>;

function countsFrom(rows: Record<string, unknown>[]): Counts {
  const counts: Counts = {
    bronze: 0,
    silver: 0,
    tables: Object.fromEntries(Object.keys(SILVER_TABLES).map((t) => [t, 0])) as Record<SilverTable, number>,
    duplicates: 0,
    quarantined: 0,
    reasons: {},
    bySite: {},
  };
  for (const row of rows) {
    const site = String(row.site);
    const what = String(row.what);
    const n = Number(row.n);
    counts.bySite[site] ??= { bronze: 0, silver: 0, duplicates: 0, quarantined: 0 };
    const s = counts.bySite[site]!;
    if (what === 'bronze') {
      counts.bronze += n;
      s.bronze += n;
    } else if (what === 'quarantined') {
      counts.quarantined += n;
      s.quarantined += n;
    } else if (what === 'duplicates') {
      counts.duplicates += n;
      s.duplicates += n;
    } else if (what.startsWith('reason:')) {
      const reason = what.slice('reason:'.length);
      counts.reasons[reason] = (counts.reasons[reason] ?? 0) + n;
    } else if (what.startsWith('silver:')) {
      const table = TABLE_OF_KIND[what.slice('silver:'.length)]!;
      counts.tables[table] += n;
      counts.silver += n;
      s.silver += n;
    }
  }
  counts.reasons = Object.fromEntries(Object.entries(counts.reasons).sort(([a], [b]) => a.localeCompare(b)));
  return counts;
}

function sameCounts(a: Counts, b: Counts): string[] {
  const problems: string[] = [];
  const norm = (c: Counts) => ({
    bronze: c.bronze,
    silver: c.silver,
    tables: c.tables,
    duplicates: c.duplicates,
    quarantined: c.quarantined,
    reasons: Object.fromEntries(Object.entries(c.reasons).sort(([x], [y]) => x.localeCompare(y))),
    bySite: Object.fromEntries(Object.entries(c.bySite).sort(([x], [y]) => x.localeCompare(y))),
  });
  const x = norm(a);
  const y = norm(b);
  for (const key of Object.keys(x) as (keyof typeof x)[]) {
    if (JSON.stringify(x[key]) !== JSON.stringify(y[key])) {
      problems.push(`${key}: vigil ${JSON.stringify(x[key])} vs hand SQL ${JSON.stringify(y[key])}`);
    }
  }
  return problems;
}

/** Same columns, types and rows (an order-independent hash of every row) in each output. */
async function sameOutputs(lake: LocalLakeStore, branch: string, out: string): Promise<string[]> {
  const db = await DuckDBInstance.create(':memory:', {
    threads: String(threads),
    memory_limit: memoryLimit,
    temp_directory: join(dir, 'hand-spill'),
  });
  const c = await db.connect();
  const problems: string[] = [];
  try {
    const outputs: [string, string, string][] = [
      ...(Object.keys(SILVER_TABLES) as SilverTable[]).map(
        (t) => [t, silverPath(t), join(out, `${t}.parquet`)] as [string, string, string],
      ),
      ['quarantine', QUARANTINE_PATH, join(out, 'quarantine.parquet')],
    ];
    for (const [name, lakePath, handFile] of outputs) {
      const vigilFile = await lake.locate(branch, lakePath);
      const describe = async (file: string) =>
        (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sql(file)})`))
          .getRowObjectsJS()
          .map((r) => `${r.column_name} ${r.column_type}`);
      const columns = await describe(vigilFile);
      const handColumns = await describe(handFile);
      if (columns.join() !== handColumns.join()) {
        problems.push(`${name}: columns ${columns.join(', ')} vs hand SQL ${handColumns.join(', ')}`);
        continue;
      }
      const names = columns.map((col) => `"${col.split(' ')[0]}"`).join(', ');
      const fingerprint = async (file: string) => {
        const [row] = (
          await c.runAndReadAll(
            `SELECT count(*) AS n, sum(hash(${names}))::VARCHAR AS h FROM read_parquet(${sql(file)})`,
          )
        ).getRowObjectsJS();
        return `${row?.n}/${row?.h}`;
      };
      const a = await fingerprint(vigilFile);
      const b = await fingerprint(handFile);
      if (a !== b) {
        const [diff] = (
          await c.runAndReadAll(`SELECT count(*) AS n FROM (
            SELECT * FROM read_parquet(${sql(vigilFile)}) EXCEPT ALL SELECT * FROM read_parquet(${sql(handFile)}))`)
        ).getRowObjectsJS();
        problems.push(`${name}: contents differ (${a} vs ${b}); ${diff?.n} Vigil rows not in the hand SQL's`);
        const examples = (
          await c.runAndReadAll(`(SELECT 'vigil' AS side, * EXCLUDE (patient_id) FROM read_parquet(${sql(vigilFile)})
              EXCEPT ALL SELECT 'vigil', * EXCLUDE (patient_id) FROM read_parquet(${sql(handFile)}))
            UNION ALL (SELECT 'hand', * EXCLUDE (patient_id) FROM read_parquet(${sql(handFile)})
              EXCEPT ALL SELECT 'hand', * EXCLUDE (patient_id) FROM read_parquet(${sql(vigilFile)}))
            ORDER BY event_id, side LIMIT 4`)
        ).getRowObjectsJson();
        for (const row of examples) problems.push(`  ${JSON.stringify(row)}`);
      }
    }
  } finally {
    c.closeSync();
    db.closeSync();
  }
  return problems;
}

const bronze = await ensureBronze(dir, spec, log);
const { lake } = bronze;
try {
  const bronzeFiles = await Promise.all(
    (await lake.list('main', 'bronze/'))
      .filter((o) => o.path.endsWith('.parquet'))
      .map((o) => lake.locate('main', o.path)),
  );
  // Warm the page cache so that neither side pays for the first read from disk.
  for (const file of bronzeFiles) await readFile(file);
  log(
    `bronze: ${bronze.events.toLocaleString('en-US')} events (${spec.patients} patients x ${spec.days} days, ${spec.sites} sites), ` +
      `${bronze.files} Parquet files, ${(bronze.bytes / 1e6).toFixed(0)} MB` +
      (bronze.reused ? ' (reused)' : `, generated in ${bronze.seconds.toFixed(0)} s`),
  );
  log(`DuckDB on both sides: threads=${threads}, memory_limit=${memoryLimit}, spill to ${dir}`);
  const times = { vigil: [] as number[], hand: [] as number[] };
  const vigilResults: SilverResult[] = [];
  const handRuns: Awaited<ReturnType<typeof hand>>[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['vigil', 'hand'] as const) : (['hand', 'vigil'] as const);
    for (const side of order) {
      if (side === 'vigil') {
        const run = await vigil(lake, round);
        vigilResults.push(run.result);
        times.vigil.push(run.ms);
        log(`  round ${round + 1} Vigil buildSilver  ${(run.ms / 1000).toFixed(1)} s`);
      } else {
        const handRun = await hand(bronzeFiles, round);
        handRuns.push(handRun);
        times.hand.push(handRun.ms);
        log(`  round ${round + 1} hand SQL (DuckDB)  ${(handRun.ms / 1000).toFixed(1)} s`);
      }
    }
  }
  // Every round's outputs, both sides: counts and every output file, row for row.
  const problems: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const v = vigilResults[round]!;
    const h = handRuns[round]!;
    const tag = (p: string) => `round ${round + 1}: ${p}`;
    problems.push(...sameCounts(v, h.counts).map(tag));
    if (v.bronze !== bronze.events) problems.push(tag(`bronze ${v.bronze} rows, ${bronze.events} events in`));
    if (Object.keys(v.bySite).length !== Object.keys(bronze.bySite).length)
      problems.push(tag('sites differ from the bronze written'));
    for (const [site, c] of Object.entries(v.bySite)) {
      if (c.bronze !== c.silver + c.duplicates + c.quarantined)
        problems.push(tag(`${site} does not reconcile`));
      if (c.bronze !== bronze.bySite[site])
        problems.push(tag(`${site}: ${c.bronze} in bronze, ${bronze.bySite[site]} in`));
    }
    problems.push(...(await sameOutputs(lake, `silver-${round}`, h.out)).map(tag));
  }
  const v = vigilResults.at(-1)!;
  if (problems.length > 0) {
    console.error(`output check failed: outputs differ:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    log(
      `outputs checked: yes — every round, both sides: counts per table, reason and site; every output's columns and rows; ` +
        `events in = bronze = silver + duplicates + quarantined per site`,
    );
    log(
      `silver ${v.silver.toLocaleString('en-US')} rows, duplicates ${v.duplicates.toLocaleString('en-US')}, ` +
        `quarantined ${v.quarantined.toLocaleString('en-US')} ${JSON.stringify(v.reasons)}`,
    );
    const best = (xs: number[]) => Math.min(...xs);
    const vigilMs = best(times.vigil);
    const handMs = best(times.hand);
    log(`Vigil buildSilver : ${(vigilMs / 1000).toFixed(1)} s  ${rate(v.bronze, vigilMs)} rows/s`);
    log(`hand SQL (DuckDB) : ${(handMs / 1000).toFixed(1)} s  ${rate(v.bronze, handMs)} rows/s`);
    log(`ratio Vigil / hand SQL (rows/s): ${(handMs / vigilMs).toFixed(2)} (target >= 0.8)`);
  }
} finally {
  await lake.close();
  if (flags.clean === 'true') await rm(dir, { recursive: true, force: true });
  else
    for (let round = 0; round < rounds; round++)
      await rm(join(dir, `hand-out-${round}`), { recursive: true, force: true });
}
