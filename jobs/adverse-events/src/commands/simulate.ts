import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { type CommandHost, type JobCommand, type VigilConfig, VigilError } from '@vigil/core';
import { type JobConfig, jobConfigSchema } from '../config.js';
import { produceBySite } from '../pipeline/ingest.js';
import type { SimulatedEvent, SimulationResult } from '../simulator/simulate-trial.js';
import { simulateTrial } from '../simulator/simulate-trial.js';
import { isoOption, positiveIntOption, seedOption } from './option-parsers.js';

interface SimulateOptions {
  seed?: number;
  patients?: number;
  days?: number;
  sites?: number;
  start?: string;
  horizon?: number;
  out?: string;
  to?: string;
  partitions?: number;
  config?: string;
  preset?: string;
  workdir?: string;
  json?: boolean;
}

type OutFormat = 'ndjson' | 'csv';

/** Events between progress updates (and the produce batch size). */
const CHUNK = 5000;
/** Below this many events no progress is shown. */
const PROGRESS_MIN = 20_000;

function outFormat(path: string): OutFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.csv') return 'csv';
  throw new VigilError(
    'VIGIL_CONFIG_INVALID',
    `--out: cannot write '${path}': use a .ndjson (or .jsonl) file, or .csv (columns topic,key,value)`,
    { details: { issues: [{ path: 'out', message: `unsupported extension '${ext}'` }] } },
  );
}

const csvField = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

function line(event: SimulatedEvent, format: OutFormat): string {
  if (format === 'ndjson')
    return `${JSON.stringify({ topic: event.topic, key: event.key, value: event.value })}\n`;
  return `${csvField(event.topic)},${csvField(event.key)},${csvField(event.value)}\r\n`;
}

/** Write the events in order; returns bytes written and their sha256. */
async function writeEvents(
  path: string,
  events: readonly SimulatedEvent[],
  format: OutFormat,
  progress: Progress | undefined,
): Promise<{ bytes: number; sha256: string }> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  let bytes = 0;
  const write = (text: string) =>
    new Promise<void>((done, fail) => {
      const buffer = Buffer.from(text, 'utf8');
      hash.update(buffer);
      bytes += buffer.length;
      if (out.write(buffer)) done();
      else {
        out.once('drain', done);
        out.once('error', fail);
      }
    });
  try {
    if (format === 'csv') await write('topic,key,value\r\n');
    for (let i = 0; i < events.length; i += CHUNK) {
      await write(
        events
          .slice(i, i + CHUNK)
          .map((e) => line(e, format))
          .join(''),
      );
      progress?.(Math.min(i + CHUNK, events.length), events.length);
    }
  } finally {
    await new Promise<void>((done, fail) =>
      out.end((error?: Error | null) => (error ? fail(error) : done())),
    );
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Produce the events into the Source of the config (the kernel starts only the source port). */
async function produceEvents(
  host: CommandHost,
  target: string,
  config: VigilConfig,
  events: readonly SimulatedEvent[],
  { sites, partitions }: { sites: number; partitions: number },
  progress: Progress | undefined,
): Promise<{
  adapter: string;
  produced: number;
  topics: Record<string, { partitions: number; endOffsets: string[] }>;
}> {
  let port = config.ports.source;
  if (target !== 'source' && port.adapter !== target) {
    const descriptor = host.registry.adapter('source', target);
    port = { adapter: target, config: descriptor.config.parse({}) as Record<string, unknown> };
  }
  const kernel = await host.kernel({ ...config, ports: { ...config.ports, source: port } }, ['source']);
  try {
    const source = kernel.port('source');
    if (source.capabilities.produce === false) {
      throw new VigilError(
        'VIGIL_SOURCE_READ_ONLY',
        `--to ${target}: the source adapter '${port.adapter}' is read-only (capability produce: false); choose a source that can produce`,
      );
    }
    const topics = [...new Set(events.map((e) => e.topic))].sort();
    await produceBySite(source, events, {
      sites,
      partitions,
      signal: kernel.signal,
      ...(progress ? { onProgress: progress } : {}),
    });
    const described: Record<string, { partitions: number; endOffsets: string[] }> = {};
    for (const topic of topics) {
      const info = await source.describeTopic(topic);
      described[topic] = { partitions: info.partitions, endOffsets: info.endOffsets };
    }
    return { adapter: port.adapter, produced: events.length, topics: described };
  } finally {
    await kernel.close();
  }
}

/** Reports progress through the host (a bar on a terminal, a line per tenth otherwise). */
type Progress = (done: number, total: number) => void;

function percent(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

function render(
  trial: { seed: number; patients: number; days: number; sites: number; start: string; horizonDays: number },
  sim: SimulationResult,
  byTopic: Record<string, number>,
): string {
  const s = sim.stats;
  const rows: [string, string][] = [
    ['seed', String(trial.seed)],
    ['patients', String(trial.patients)],
    ['days', String(trial.days)],
    ['sites', String(trial.sites)],
    ['start', trial.start],
    ['horizon', `${trial.horizonDays} days`],
    ['', ''],
    ['Bayes-optimal AUROC', sim.bayesAuroc.toFixed(4)],
    ['ceiling AUROC', `${sim.ceilingAuroc.toFixed(4)} (present state)`],
    ['prediction times', String(s.predictionTimes)],
    ['prevalence', percent(s.prevalence)],
    ['', ''],
    ['events', String(s.events)],
    ...Object.entries(byTopic).map(([topic, n]): [string, string] => [`  ${topic}`, String(n)]),
    ['adverse events (≥ 2)', String(s.adverseEvents)],
    ['mild adverse events', String(s.mildAdverseEvents)],
    ['malformed', String(s.malformed)],
    ...Object.entries(s.malformedByKind).map(([kind, n]): [string, string] => [`  ${kind}`, String(n)]),
    ['duplicates (EHR copy)', String(s.duplicates)],
    ['resent (same eventId)', String(s.resent)],
    ['unit variants', String(s.unitVariants)],
    ['missed visits', String(s.missedVisits)],
    ['late (≥ 1 day)', String(s.late)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => (k === '' ? '' : `${k.padEnd(width)}  ${v}`)).join('\n');
}

/**
 * `vigil simulate`: generate the seeded trial, print its config, the Bayes-optimal AUROC of
 * the task (an oracle that knows the coming shocks), its present-state ceiling (the best any
 * model can do from perfect knowledge of the latent state at prediction time) and the mess
 * statistics; optionally write the events to a file (same seed → identical bytes) or produce
 * them into the configured Source. Returns the exit code.
 */
async function simulate(host: CommandHost, options: SimulateOptions): Promise<number> {
  if (options.out && options.to) {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      '--out and --to are exclusive: write a file or produce to a source',
      {
        details: { issues: [{ path: 'out', message: 'exclusive with --to' }] },
      },
    );
  }
  const format = options.out ? outFormat(options.out) : undefined;
  // A config is read when one is given or a source is the target, as `vigil run` reads it.
  const config = options.config || options.to ? await host.loadConfig(options) : undefined;
  // The trial defaults are the job's (its config schema), or the config file's trial.
  const defaults = (config?.sections.job as JobConfig | undefined) ?? jobConfigSchema.parse({});
  const trial = {
    seed: options.seed ?? config?.seed ?? 42,
    patients: options.patients ?? defaults.trial.patients,
    days: options.days ?? defaults.trial.days,
    sites: options.sites ?? defaults.trial.sites,
    start: new Date(options.start ?? defaults.trial.start).toISOString(),
    horizonDays: options.horizon ?? 7,
  };
  const large = trial.patients * trial.days >= 20_000;
  if (large) {
    host.stderr.write(`simulate: ${trial.patients} patients × ${trial.days} days at ${trial.sites} sites…\n`);
  }
  const sim = simulateTrial({
    seed: trial.seed,
    patients: trial.patients,
    days: trial.days,
    sites: trial.sites,
    start: new Date(trial.start),
    horizonDays: trial.horizonDays,
    // The config's scheduled drift applies to the trial it describes (not to one resized by flags).
    ...(defaults.trial.drift &&
    options.patients === undefined &&
    options.days === undefined &&
    options.sites === undefined
      ? { drift: defaults.trial.drift }
      : {}),
  });
  const byTopic: Record<string, number> = {};
  for (const e of sim.events) byTopic[e.topic] = (byTopic[e.topic] ?? 0) + 1;
  const verb = options.out ? 'wrote' : 'produced';
  const progress: Progress | undefined =
    sim.events.length >= PROGRESS_MIN && (options.out || options.to)
      ? (done, total) => host.progress('simulate', done, total, `${verb} ${done}/${total} events`)
      : undefined;

  let output: { path: string; format: OutFormat; events: number; bytes: number; sha256: string } | undefined;
  let produced: Awaited<ReturnType<typeof produceEvents>> | undefined;
  try {
    if (options.out && format) {
      const path = resolve(options.out);
      const written = await writeEvents(path, sim.events, format, progress);
      output = { path, format, events: sim.events.length, ...written };
    } else if (options.to && config) {
      produced = await produceEvents(
        host,
        options.to,
        config,
        sim.events,
        { sites: trial.sites, partitions: options.partitions ?? trial.sites },
        progress,
      );
    }
  } finally {
    if (progress) host.progressDone();
  }

  host.stdout.write(`Simulated trial\n${render(trial, sim, byTopic)}\n`);
  if (output) {
    host.stdout.write(
      `\nwrote ${output.events} events to ${output.path} (${output.format}, ${output.bytes} bytes, sha256 ${output.sha256})\n`,
    );
  }
  if (produced) {
    const topics = Object.entries(produced.topics)
      .map(([t, i]) => `${t} (${i.partitions} partitions)`)
      .join(', ');
    host.stdout.write(`\nproduced ${produced.produced} events to source '${produced.adapter}': ${topics}\n`);
  }
  if (options.json) {
    host.stdout.write(
      `${JSON.stringify({
        config: trial,
        bayesAuroc: sim.bayesAuroc,
        ceilingAuroc: sim.ceilingAuroc,
        stats: sim.stats,
        topics: byTopic,
        ...(output ? { output } : {}),
        ...(produced ? { produced } : {}),
      })}\n`,
    );
  }
  return 0;
}

/** `vigil simulate`, contributed by the adverse-event job. */
export const simulateCommand: JobCommand = {
  name: 'simulate',
  description:
    'Generate the seeded trial: print its config, Bayes-optimal and present-state ceiling AUROC and mess stats; write the events to a file or produce them into a Source',
  options: [
    {
      flags: '--seed <n>',
      description: 'seed of the simulation (default: the config seed, else 42)',
      parse: seedOption,
    },
    {
      flags: '--patients <n>',
      description: 'patients enrolled (default 1000, the job’s)',
      parse: positiveIntOption,
    },
    { flags: '--days <n>', description: 'trial days (default 90)', parse: positiveIntOption },
    { flags: '--sites <n>', description: 'trial sites (default 4)', parse: positiveIntOption },
    {
      flags: '--start <iso>',
      description: 'first trial day, ISO 8601 (default 2026-01-05T00:00:00Z)',
      parse: isoOption,
    },
    {
      flags: '--horizon <days>',
      description: 'prediction horizon in days (default 7)',
      parse: positiveIntOption,
    },
    {
      flags: '--out <file>',
      description: 'write the events, one {topic, key, value} per line (.ndjson/.jsonl) or row (.csv)',
    },
    {
      flags: '--to <source>',
      description: "produce the events into 'source' (the config's source port) or a named source adapter",
    },
    {
      flags: '--partitions <n>',
      description: 'partitions of each topic created by --to (default: the number of sites)',
      parse: positiveIntOption,
    },
    { flags: '--config <file>', description: 'YAML config file (source adapter, trial defaults)' },
    {
      flags: '--preset <name>',
      description: 'preset whose source --to uses (default: local, or the config file’s preset)',
    },
    { flags: '--workdir <dir>', description: 'directory for run state (default ./.vigil)' },
    {
      flags: '--json',
      description:
        'print config, AUROCs (bayesAuroc, ceilingAuroc) and stats as one JSON object on the last line of stdout',
    },
  ],
  run: (host, _args, options) => simulate(host, options as SimulateOptions),
};
