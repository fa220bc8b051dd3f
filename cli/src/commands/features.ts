import { join, resolve } from 'node:path';
import {
  createLogger,
  type FeatureRef,
  type FeatureStore,
  type FeatureView,
  Kernel,
  type LakeStore,
  type ScalarValue,
  type VigilConfig,
  VigilError,
} from '@vigil/core';
import {
  compileFeatureDefinitions,
  type FeatureDefinitions,
  type FeaturesConfig,
  formatDuration,
  materializeFeatures,
  StreamingFeaturePush,
} from '@vigil/job-adverse-events';
import { createDefaultRegistry } from '../default-registry.js';
import { createFeatureServer } from '../feature-server/feature-server.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';

export interface FeaturesOptions extends ConfigOverrides {
  config?: string;
  json?: boolean;
}

interface Session {
  kernel: Kernel;
  config: VigilConfig;
  definitions: FeatureDefinitions;
  store: FeatureStore;
  lake: LakeStore;
}

const out = (text: string) => process.stdout.write(`${text}\n`);

/** Start the kernel from the same config/preset/workdir as `vigil run`, do `work`, close. */
async function withSession<T>(options: FeaturesOptions, work: (s: Session) => Promise<T>): Promise<T> {
  const registry = createDefaultRegistry();
  const config = await resolveConfig(registry, options.config, options);
  const workdir = resolve(config.workdir);
  const logger = createLogger({ level: config.log.level, file: join(workdir, 'logs', 'vigil.log') });
  const kernel = new Kernel({ registry, config, logger });
  await kernel.start();
  try {
    const definitions = compileFeatureDefinitions(config.sections.features as FeaturesConfig | undefined);
    return await work({
      kernel,
      config,
      definitions,
      store: kernel.port('feature-store'),
      lake: kernel.port('lake-store'),
    });
  } finally {
    await kernel.close();
  }
}

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
export async function featuresApply(options: FeaturesOptions): Promise<number> {
  return withSession(options, async ({ store, definitions }) => {
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
export async function featuresList(options: FeaturesOptions): Promise<number> {
  return withSession(options, async ({ store }) => {
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
export async function featuresDescribe(name: string, options: FeaturesOptions): Promise<number> {
  return withSession(options, async ({ store, definitions }) => {
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

export interface MaterializeOptions extends FeaturesOptions {
  end?: string;
  start?: string;
  views?: string;
}

/** `vigil features materialize`: rebuild window tables, then copy offline → online up to `--end`. */
export async function featuresMaterialize(options: MaterializeOptions): Promise<number> {
  const end = parseDate(options.end, '--end') ?? new Date();
  const start = parseDate(options.start, '--start');
  const views = options.views
    ?.split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  return withSession(options, async ({ kernel, store, lake, definitions }) => {
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
  });
}

export interface GetOptions extends FeaturesOptions {
  entity: string[];
  features?: string;
}

/** `vigil features get --entity patient_id=P-000001`: online values for one or more entities. */
export async function featuresGet(options: GetOptions): Promise<number> {
  const keys: Record<string, ScalarValue> = {};
  for (const pair of options.entity) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', `--entity: expected key=value, got '${pair}'`);
    keys[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return withSession(options, async ({ store }) => {
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

export interface ServeOptions extends FeaturesOptions {
  port?: number;
  stream?: boolean;
}

/** `vigil features serve`: the Feast-compatible feature server on 127.0.0.1, until SIGINT/SIGTERM. */
export async function featuresServe(options: ServeOptions): Promise<number> {
  return withSession(options, async ({ kernel, store, definitions }) => {
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
