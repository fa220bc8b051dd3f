import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { VigilError } from '../errors.js';
import { PORT_NAMES, type PortName } from '../ports/index.js';
import type { ComponentRegistry } from './component-registry.js';

/** The config `version` this core reads. */
export const CONFIG_VERSION = 1;

export interface ConfigIssue {
  /** Dotted path of the offending value, e.g. `ports.source.config.dir`. */
  path: string;
  message: string;
}

export interface PortConfig {
  adapter: string;
  config: Record<string, unknown>;
}

/** A validated, frozen configuration. */
export interface VigilConfig {
  readonly version: typeof CONFIG_VERSION;
  readonly preset?: string;
  readonly workdir: string;
  readonly seed: number;
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent' };
  readonly ports: { readonly [P in PortName]: Readonly<PortConfig> };
  readonly plugins: readonly Readonly<{ name: string; config: Record<string, unknown> }>[];
  /** The job `vigil run` runs (`job.name`; default: the preset's, else the only one registered). */
  readonly job?: string;
  /** Extra sections: `job` (the job's own config) and the sections it reads, validated by their schemas. */
  readonly sections: Readonly<Record<string, unknown>>;
  /** sha256 of the validated config, for lineage. */
  readonly hash: string;
}

const portEntry = z.strictObject({
  adapter: z.string().min(1).describe('Name of the adapter that fills this port (see `vigil adapters`).'),
  config: z.record(z.string(), z.unknown()).default({}).describe("The adapter's own configuration."),
});

const baseShape = {
  version: z.literal(CONFIG_VERSION).describe('Config format version; this core reads version 1.'),
  preset: z
    .string()
    .optional()
    .describe('A preset whose config this file is layered over (see `vigil presets`).'),
  modules: z
    .array(z.string())
    .default([])
    .describe(
      'Modules (paths relative to the config file, or package names) whose exported adapters, plugins and presets are registered before validation.',
    ),
  workdir: z.string().default('./.vigil').describe('Directory for all run state (lake, log, registry, …).'),
  seed: z
    .number()
    .int()
    .nonnegative()
    .default(42)
    .describe('Seed for every random choice; same config + data → same model bytes.'),
  log: z
    .strictObject({
      level: z
        .enum(['debug', 'info', 'warn', 'error', 'silent'])
        .default('info')
        .describe('Minimum log level.'),
    })
    .default({ level: 'info' })
    .describe('Structured logging (JSON lines on stderr).'),
  ports: z
    .strictObject(
      Object.fromEntries(PORT_NAMES.map((p) => [p, portEntry.describe(`Adapter for the ${p} port.`)])),
    )
    .describe('Which adapter fills each port, with its config.'),
  plugins: z
    .array(
      z.strictObject({
        name: z.string().describe('Registered plugin name.'),
        config: z.record(z.string(), z.unknown()).default({}).describe("The plugin's configuration."),
      }),
    )
    .default([])
    .describe('Plugins adding behaviour around the ports.'),
};

export interface LoadConfigOptions {
  registry: ComponentRegistry;
  /** Extra top-level sections and their schemas (e.g. `{ job: jobSchema }`). */
  sections?: Record<string, z.ZodType>;
  /** Environment for `${env:NAME}` (default process.env). */
  env?: Record<string, string | undefined>;
}

function pathOf(segments: readonly PropertyKey[]): string {
  return segments.map(String).join('.') || '(root)';
}

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replace `${env:NAME}` in every string of `value` (arrays and objects walked, a new value
 * returned); each unset name is pushed to `issues` with its dotted path under `path` and
 * replaced by ''. loadConfig runs it on the whole document; a plugin that reads its own
 * config file (the gateway) uses it so references resolve the same way.
 */
export function substituteEnv(
  value: unknown,
  env: Record<string, string | undefined>,
  path: string[],
  issues: ConfigIssue[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        issues.push({ path: pathOf(path), message: `environment variable ${name} is not set` });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, String(i)], issues));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], issues)]),
    );
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge: `over` wins; objects merge, arrays and scalars replace. A port's adapter change drops the base's adapter config. */
function layer(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = layer(base[k], v);
  return out;
}

function layerPorts(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged = layer(base, over) as Record<string, unknown>;
  const basePorts = isPlainObject(base.ports) ? base.ports : {};
  const overPorts = isPlainObject(over.ports) ? over.ports : {};
  const ports = isPlainObject(merged.ports) ? { ...merged.ports } : {};
  for (const [port, entry] of Object.entries(overPorts)) {
    const b = basePorts[port];
    if (
      isPlainObject(entry) &&
      isPlainObject(b) &&
      entry.adapter !== undefined &&
      entry.adapter !== b.adapter
    ) {
      ports[port] = entry; // a different adapter does not inherit the preset's adapter config
    }
  }
  return { ...merged, ports };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function invalid(issues: ConfigIssue[]): VigilError {
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n');
  return new VigilError('VIGIL_CONFIG_INVALID', `configuration has ${issues.length} problem(s):\n${lines}`, {
    details: { issues },
  });
}

/** Parse YAML (or JSON) text; syntax errors are reported with line and column. */
export function parseConfigText(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({
      path: e.linePos?.[0] ? `line ${e.linePos[0].line}:${e.linePos[0].col}` : '(document)',
      message: e.message.split('\n')[0] ?? e.message,
    }));
    throw new VigilError(
      'VIGIL_CONFIG_PARSE',
      `configuration is not valid YAML:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
      {
        details: { issues },
      },
    );
  }
  return doc.toJS();
}

/**
 * Validate a config document: `version` check → preset layering → `${env:NAME}`
 * substitution → base schema → each port's adapter schema → extra sections. Every problem
 * is collected and reported at once (VIGIL_CONFIG_INVALID, `details.issues`); the
 * result is deeply frozen.
 */
export function loadConfig(input: unknown, options: LoadConfigOptions): VigilConfig {
  const { registry } = options;
  const issues: ConfigIssue[] = [];
  if (!isPlainObject(input)) throw invalid([{ path: '(root)', message: 'expected a mapping (YAML object)' }]);

  let doc: Record<string, unknown> = input;

  if (doc.version !== CONFIG_VERSION) {
    issues.push({
      path: 'version',
      message:
        doc.version === undefined
          ? `required; this core reads version ${CONFIG_VERSION}`
          : `unsupported version ${JSON.stringify(doc.version)}; this core reads version ${CONFIG_VERSION}`,
    });
    doc = { ...doc, version: CONFIG_VERSION };
  }

  if (typeof doc.preset === 'string') {
    try {
      doc = layerPorts(registry.preset(doc.preset).config, doc);
    } catch (error) {
      issues.push({ path: 'preset', message: (error as Error).message });
    }
  }
  // After layering, so a preset's own ${env:…} references are resolved too.
  doc = substituteEnv(doc, options.env ?? process.env, [], issues) as Record<string, unknown>;

  // The job picks the schema of the `job` section and of the other sections it reads.
  let jobName: string | undefined;
  const sectionSchemas: Record<string, z.ZodType> = { ...(options.sections ?? {}) };
  const rawJob = isPlainObject(doc.job) ? doc.job : {};
  const named = typeof rawJob.name === 'string' ? rawJob.name : undefined;
  const jobs = registry.jobNames();
  if (named !== undefined || jobs.length === 1) {
    try {
      const job = registry.job(named ?? jobs[0]!);
      jobName = job.name;
      const { name: _name, ...rest } = rawJob;
      doc = { ...doc, job: rest };
      sectionSchemas.job = job.config;
      Object.assign(sectionSchemas, job.sections ?? {});
    } catch (error) {
      issues.push({ path: 'job.name', message: (error as Error).message });
    }
  } else if (jobs.length > 1 && doc.job !== undefined && !sectionSchemas.job) {
    issues.push({
      path: 'job.name',
      message: `required when several jobs are registered: ${jobs.join(', ')}`,
    });
  }
  const sectionShape = Object.fromEntries(
    Object.keys(sectionSchemas).map((k) => [k, z.unknown().optional()]),
  );
  const base = z.strictObject({ ...baseShape, ...sectionShape }).safeParse(doc);
  if (!base.success) {
    for (const issue of base.error.issues) {
      issues.push({ path: pathOf(issue.path), message: issue.message });
    }
  }

  // Per-port adapter validation runs even when the base had problems, so every error shows at once.
  const ports: Partial<Record<PortName, PortConfig>> = {};
  const rawPorts = isPlainObject(doc.ports) ? doc.ports : {};
  for (const port of PORT_NAMES) {
    const entry = rawPorts[port];
    if (!isPlainObject(entry) || typeof entry.adapter !== 'string') continue;
    if (!registry.hasAdapter(port, entry.adapter)) {
      const known = registry.adapterNames(port);
      issues.push({
        path: `ports.${port}.adapter`,
        message: `unknown adapter '${entry.adapter}'; known adapters for ${port}: ${known.join(', ') || '(none registered)'}`,
      });
      continue;
    }
    const adapter = registry.adapter(port, entry.adapter);
    const parsed = adapter.config.safeParse(entry.config ?? {});
    if (parsed.success) {
      ports[port] = { adapter: entry.adapter, config: parsed.data as Record<string, unknown> };
    } else {
      for (const issue of parsed.error.issues) {
        issues.push({ path: pathOf(['ports', port, 'config', ...issue.path]), message: issue.message });
      }
    }
  }

  const plugins: { name: string; config: Record<string, unknown> }[] = [];
  const rawPlugins = Array.isArray(doc.plugins) ? doc.plugins : [];
  rawPlugins.forEach((entry, i) => {
    if (!isPlainObject(entry) || typeof entry.name !== 'string') return;
    let plugin: ReturnType<ComponentRegistry['plugin']>;
    try {
      plugin = registry.plugin(entry.name);
    } catch (error) {
      issues.push({ path: `plugins.${i}.name`, message: (error as Error).message });
      return;
    }
    const parsed = plugin.config.safeParse(entry.config ?? {});
    if (parsed.success) plugins.push({ name: entry.name, config: parsed.data as Record<string, unknown> });
    else
      for (const issue of parsed.error.issues)
        issues.push({ path: pathOf(['plugins', i, 'config', ...issue.path]), message: issue.message });
  });
  const configured = new Set(plugins.map((p) => p.name));
  for (const p of plugins) {
    for (const dep of registry.plugin(p.name).dependencies ?? []) {
      if (!configured.has(dep))
        issues.push({
          path: 'plugins',
          message: `plugin '${p.name}' depends on plugin '${dep}', which is not configured`,
        });
    }
  }

  const sections: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(sectionSchemas)) {
    const parsed = schema.safeParse(doc[name] ?? {});
    if (parsed.success) sections[name] = parsed.data;
    else
      for (const issue of parsed.error.issues)
        issues.push({ path: pathOf([name, ...issue.path]), message: issue.message });
  }

  if (issues.length > 0 || !base.success) throw invalid(issues);
  const data = base.data as unknown as z.output<z.ZodObject<typeof baseShape>>;
  const body = {
    version: CONFIG_VERSION,
    ...(data.preset === undefined ? {} : { preset: data.preset }),
    ...(jobName === undefined ? {} : { job: jobName }),
    workdir: data.workdir,
    seed: data.seed,
    log: data.log,
    ports: ports as Record<PortName, PortConfig>,
    plugins,
    sections,
  };
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  return deepFreeze({ ...body, hash }) as VigilConfig;
}

/** JSON Schema (draft 2020-12) of the config file, generated from the same zod schemas. */
export function configJsonSchema(
  registry: ComponentRegistry,
  sections: Record<string, z.ZodType> = {},
): Record<string, unknown> {
  const portSchemas = Object.fromEntries(
    PORT_NAMES.map((port) => {
      const variants = registry
        .adapters()
        .filter((a) => a.port === port)
        .map((a) =>
          z
            .strictObject({
              adapter: z.literal(a.name).describe(a.description),
              config: a.config.optional(),
            })
            .describe(`${port} adapter '${a.name}': ${a.description}`),
        );
      const schema =
        variants.length === 0
          ? portEntry
          : variants.length === 1
            ? variants[0]!
            : z.union(variants as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
      return [port, schema.describe(`Adapter for the ${port} port.`)];
    }),
  );
  const root = z
    .strictObject({
      ...baseShape,
      preset: registry.presetNames().length
        ? z
            .enum(registry.presetNames() as [string, ...string[]])
            .optional()
            .describe(baseShape.preset.description ?? '')
        : baseShape.preset,
      ports: z
        .strictObject(portSchemas)
        .partial()
        .describe(baseShape.ports.description ?? ''),
      ...Object.fromEntries(Object.entries(sections).map(([k, s]) => [k, s.optional()])),
    })
    .describe('Vigil configuration');
  return z.toJSONSchema(root, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
