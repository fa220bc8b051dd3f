import { join } from 'node:path';
import {
  type CommandHost,
  type FeatureRef,
  type FeatureStore,
  type FeatureView,
  type JobCommand,
  type JobCommandOption,
  type Kernel,
  type PortName,
  type ScalarValue,
  type VigilConfig,
  VigilError,
} from '@vigil/core';
import { createFeatureServer } from '../feature-server/feature-server.js';
import { formatDuration } from '../features/duration.js';
import { compileFeatureDefinitions, type FeatureDefinitions } from '../features/feature-definitions.js';
import type { FeaturesConfig } from '../features/features-config.js';
import { materializeFeatures } from '../features/materialize-features.js';
import { StreamingFeaturePush } from '../features/streaming-push.js';
import { collectOption, tcpPortOption } from './option-parsers.js';

interface FeaturesOptions {
  config?: string;
  preset?: string;
  workdir?: string;
  json?: boolean;
}

interface Session {
  kernel: Kernel;
  config: VigilConfig;
  definitions: FeatureDefinitions;
  store: FeatureStore;
}

/**
 * Load the config (same config/preset/workdir as `vigil run`), start a kernel with only
 * `ports` (the feature store, and what the subcommand uses besides), do `work`, close.
 */
async function withSession<T>(
  host: CommandHost,
  options: FeaturesOptions,
  ports: readonly PortName[],
  work: (s: Session) => Promise<T>,
): Promise<T> {
  const config = await host.loadConfig(options);
  const definitions = compileFeatureDefinitions(config.sections.features as FeaturesConfig | undefined);
  const kernel = await host.kernel(config, ports);
  try {
    return await work({ kernel, config, definitions, store: kernel.port('feature-store') });
  } finally {
    await kernel.close();
  }
}

const writer = (host: CommandHost) => (text: string) => host.stdout.write(`${text}\n`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function parseDate(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `${flag}: '${value}' is not an ISO date-time`);
  }
  return date;
}

/** `vigil features apply`: register the config's views (or the job's built-in ones). */
async function apply(host: CommandHost, options: FeaturesOptions): Promise<number> {
  const out = writer(host);
  return withSession(host, options, ['feature-store'], async ({ store, definitions }) => {
    const before = new Map((await store.listViews()).map((v) => [v.name, JSON.stringify(v)]));
    await store.apply(definitions.views);
    const after = new Map((await store.listViews()).map((v) => [v.name, JSON.stringify(v)]));
    const applied = definitions.views.map((v) => ({
      view: v.name,
      version: v.version,
      status: !before.has(v.name)
        ? 'created'
        : before.get(v.name) === after.get(v.name)
          ? 'unchanged'
          : 'updated',
    }));
    if (options.json) out(JSON.stringify(applied));
    else {
      out(
        `applied ${applied.length} feature view(s)${definitions.fromConfig ? '' : ' (the job’s built-in views; config declares none)'}`,
      );
      for (const a of applied) out(`  ${a.view}@${a.version}  ${a.status}`);
    }
    return 0;
  });
}

/** `vigil features list`: every registered feature. */
async function list(host: CommandHost, options: FeaturesOptions): Promise<number> {
  const out = writer(host);
  return withSession(host, options, ['feature-store'], async ({ store }) => {
    const views = await store.listViews();
    const rows = views.flatMap((v) =>
      v.features.map((f) => ({
        view: v.name,
        feature: f.name,
        version: v.version,
        ttl: formatDuration(v.ttlSeconds),
      })),
    );
    if (options.json) out(JSON.stringify(rows));
    else if (rows.length === 0) out('no feature views registered; run `vigil features apply`');
    else
      out(
        table([
          ['VIEW', 'FEATURE', 'VERSION', 'TTL'],
          ...rows.map((r) => [r.view, r.feature, String(r.version), r.ttl]),
        ]),
      );
    return 0;
  });
}

function requireView(views: readonly FeatureView[], name: string): FeatureView {
  const view = views.find((v) => v.name === name);
  if (!view) {
    throw new VigilError(
      'VIGIL_FEATURE_UNKNOWN_VIEW',
      `unknown feature view '${name}' (registered: ${views.map((v) => v.name).join(', ') || 'none'})`,
    );
  }
  return view;
}

/** `vigil features describe <view>`: the registered definition (and its window transforms). */
async function describe(host: CommandHost, name: string, options: FeaturesOptions): Promise<number> {
  const out = writer(host);
  return withSession(host, options, ['feature-store'], async ({ store, definitions }) => {
    const view = requireView(await store.listViews(), name);
    const windowed = definitions.windowed.find((w) => w.view.name === name);
    const transforms = windowed?.features.map((f) => ({
      feature: f.name,
      fn: f.fn,
      of: f.of,
      window: formatDuration(f.windowSeconds),
    }));
    if (options.json) {
      out(
        JSON.stringify({
          ...view,
          ttl: formatDuration(view.ttlSeconds),
          ...(windowed ? { input: windowed.input, transforms } : {}),
        }),
      );
      return 0;
    }
    out(`${view.name}  version ${view.version}  ttl ${formatDuration(view.ttlSeconds)}`);
    if (view.description) out(`  ${view.description}`);
    out(`  entities: ${view.entities.join(', ')}`);
    out(
      `  source:   ${view.source.path} (timestamp ${view.source.timestampField}${view.source.createdTimestampField ? `, created ${view.source.createdTimestampField}` : ''})`,
    );
    if (windowed) out(`  input:    ${windowed.input.path} (stream: topic ${windowed.input.topic})`);
    out(
      table([
        ['FEATURE', 'DTYPE', 'DESCRIPTION'],
        ...view.features.map((f) => [f.name, f.dtype, f.description ?? '']),
      ]),
    );
    return 0;
  });
}

interface MaterializeOptions extends FeaturesOptions {
  end?: string;
  start?: string;
  views?: string;
}

/** `vigil features materialize`: rebuild window tables, then copy offline → online up to `--end`. */
async function materialize(host: CommandHost, options: MaterializeOptions): Promise<number> {
  const out = writer(host);
  const end = parseDate(options.end, '--end') ?? new Date();
  const start = parseDate(options.start, '--start');
  const views = options.views
    ?.split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  return withSession(
    host,
    options,
    ['feature-store', 'lake-store'],
    async ({ kernel, store, definitions }) => {
      const lake = kernel.port('lake-store');
      const registered = await store.listViews();
      for (const v of views ?? []) requireView(registered, v);
      // A windowed view must be applied (at the same version) before its table is built.
      for (const w of definitions.windowed) {
        if (views && !views.includes(w.view.name)) continue;
        const current = registered.find((v) => v.name === w.view.name);
        if (!current || current.version !== w.view.version) {
          throw new VigilError(
            'VIGIL_FEATURE_UNKNOWN_VIEW',
            `view '${w.view.name}' v${w.view.version} is not applied${current ? ` (registered: v${current.version})` : ''}; run \`vigil features apply\` first`,
          );
        }
      }
      const result = await materializeFeatures({
        lake,
        store,
        definitions,
        end,
        ...(start ? { start } : {}),
        ...(views ? { views } : {}),
        scratch: join(kernel.workdir, 'tmp', `features-${kernel.runId}`),
        runId: kernel.runId,
      });
      const summary = {
        end: end.toISOString(),
        views: views ?? registered.map((v) => v.name),
        rowsWritten: result.rowsWritten,
        lakeCommit: result.lakeCommit,
        windowTables: result.built,
      };
      if (options.json) out(JSON.stringify(summary));
      else {
        for (const b of result.built)
          out(`built ${b.view}: ${b.rows} rows${b.path ? ` → ${b.path}` : ' (no input)'}`);
        out(
          `materialized ${summary.views.join(', ')} up to ${summary.end}: ${result.rowsWritten} rows written online (lake ${result.lakeCommit.slice(0, 12)})`,
        );
      }
      return 0;
    },
  );
}

interface GetOptions extends FeaturesOptions {
  /** Required by the command line. */
  entity?: string[];
  features?: string;
}

/** `vigil features get --entity patient_id=P-000001`: online values for one or more entities. */
async function get(host: CommandHost, options: GetOptions): Promise<number> {
  const out = writer(host);
  const keys: Record<string, ScalarValue> = {};
  for (const pair of options.entity ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `--entity: expected key=value, got '${pair}'`);
    keys[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return withSession(host, options, ['feature-store'], async ({ store }) => {
    const views = await store.listViews();
    const features = options.features
      ? (options.features
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean) as FeatureRef[])
      : views
          .filter((v) => v.entities.every((k) => k in keys))
          .flatMap((v) => v.features.map((f) => `${v.name}:${f.name}` as FeatureRef));
    if (features.length === 0) {
      throw new VigilError(
        'VIGIL_FEATURE_INVALID_REQUEST',
        `--entity: no registered view is keyed by ${Object.keys(keys).join(', ')}`,
      );
    }
    const result = await store.getOnlineFeatures({ features, entityRows: [keys], fullFeatureNames: true });
    const row = result.rows[0]!;
    if (options.json) out(JSON.stringify(row));
    else
      out(
        table([
          ['FEATURE', 'VALUE'],
          ...result.featureNames.map((n) => [n, row[n] === null ? '∅' : String(row[n])]),
        ]),
      );
    return 0;
  });
}

interface ServeOptions extends FeaturesOptions {
  port?: number;
  stream?: boolean;
}

/** `vigil features serve`: the Feast-compatible feature server on 127.0.0.1, until SIGINT/SIGTERM. */
async function serve(host: CommandHost, options: ServeOptions): Promise<number> {
  const out = writer(host);
  const ports: PortName[] = options.stream ? ['feature-store', 'source'] : ['feature-store'];
  return withSession(host, options, ports, async ({ kernel, store, definitions }) => {
    const stopped = new Promise<void>((done) => {
      kernel.handleSignals(() => done());
    });
    const app = await createFeatureServer({ store, services: definitions.services });
    let push: StreamingFeaturePush | undefined;
    try {
      if (options.stream) {
        if (definitions.windowed.length === 0) {
          throw new VigilError(
            'VIGIL_FEATURE_INVALID_REQUEST',
            '--stream: config declares no windowed views to compute from the stream',
          );
        }
        push = new StreamingFeaturePush({
          source: kernel.port('source'),
          store,
          windowed: definitions.windowed,
          logger: kernel.logger,
        });
        await push.start();
      }
      const url = await app.listen({ host: '127.0.0.1', port: options.port ?? 6566 });
      out(`feature server listening on ${url}${push ? ' (streaming push on)' : ''}`);
      await stopped;
      return 0;
    } finally {
      await app.close();
      await push?.stop();
    }
  });
}

/** The options every `vigil features` subcommand takes. */
const COMMON: readonly JobCommandOption[] = [
  { flags: '--preset <name>', description: 'preset (default: local, or the config file’s preset)' },
  { flags: '--config <file>', description: 'YAML config file' },
  { flags: '--workdir <dir>', description: 'directory of the run state (default ./.vigil)' },
  { flags: '--json', description: 'machine-readable output' },
];

/**
 * `vigil features …`: the feature plane, on the same config/preset/workdir as `vigil run`.
 * Each subcommand starts only the ports it uses: the feature store (and what it requires),
 * the lake for `materialize`, the source for `serve --stream`.
 */
export const featuresCommand: JobCommand = {
  name: 'features',
  description: 'Feature definitions, materialisation, online lookup and the feature server',
  subcommands: [
    {
      name: 'apply',
      description: 'Register the feature views the config declares (or the job’s built-in views)',
      options: COMMON,
      run: (host, _args, o) => apply(host, o as FeaturesOptions),
    },
    {
      name: 'list',
      description: 'List registered features: view, feature, version, ttl',
      options: COMMON,
      run: (host, _args, o) => list(host, o as FeaturesOptions),
    },
    {
      name: 'describe',
      description: 'Show a registered view’s definition',
      arguments: ['<view>'],
      options: COMMON,
      run: (host, args, o) => describe(host, args[0]!, o as FeaturesOptions),
    },
    {
      name: 'materialize',
      description: 'Build window tables from silver, then copy offline → online',
      options: [
        ...COMMON,
        { flags: '--end <iso>', description: 'upper bound of event timestamps (default: now)' },
        {
          flags: '--start <iso>',
          description: 'lower bound (default: since the last materialisation, or end − ttl)',
        },
        { flags: '--views <a,b>', description: 'only these views' },
      ],
      run: (host, _args, o) => materialize(host, o as MaterializeOptions),
    },
    {
      name: 'get',
      description: 'Online feature values of an entity',
      options: [
        ...COMMON,
        {
          flags: '--entity <key=value>',
          description: 'join key and value (repeatable)',
          parse: collectOption,
          required: true,
        },
        {
          flags: '--features <view:feat,…>',
          description: 'features to read (default: every feature keyed by the given join keys)',
        },
      ],
      run: (host, _args, o) => get(host, o as GetOptions),
    },
    {
      name: 'serve',
      description: 'Feast-compatible feature server (POST /get-online-features) on 127.0.0.1',
      options: [
        ...COMMON,
        { flags: '--port <n>', description: 'port (default 6566; 0 picks a free one)', parse: tcpPortOption },
        {
          flags: '--stream',
          description: 'also push windowed features from the source topics as events arrive',
        },
      ],
      run: (host, _args, o) => serve(host, o as ServeOptions),
    },
  ],
};
