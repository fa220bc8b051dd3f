import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isVigilError, type VigilError } from '../errors.js';
import { PORT_NAMES } from '../ports/index.js';
import { ComponentRegistry } from './component-registry.js';
import { type ConfigIssue, configJsonSchema, loadConfig, parseConfigText } from './config.js';
import { defineAdapter, definePreset } from './define.js';

const adapters = PORT_NAMES.map((port) =>
  defineAdapter({
    port,
    name: 'embedded',
    version: '0.1.0',
    core: '^0.1.0',
    description: `embedded ${port}`,
    config: z.strictObject({
      dir: z.string().default(port).describe('directory'),
      partitions: z.number().int().positive().default(4).describe('partitions'),
      password: z.string().optional().describe('secret, by ${env:} reference'),
    }),
    capabilities: {} as never,
    create: async () => ({}) as never,
  }),
);

function registry() {
  const r = new ComponentRegistry('0.1.0');
  for (const a of adapters) r.register(a);
  r.register(
    definePreset({
      name: 'local',
      description: 'all embedded',
      config: { version: 1, ports: Object.fromEntries(PORT_NAMES.map((p) => [p, { adapter: 'embedded' }])) },
      components: adapters,
    }),
  );
  return r;
}

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (error) {
    expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
    return (error as VigilError).details!.issues as ConfigIssue[];
  }
  throw new Error('expected the config to be rejected');
}

describe('loadConfig', () => {
  it('layers a preset, fills defaults and freezes the result', () => {
    const config = loadConfig(
      { version: 1, preset: 'local', seed: 7, ports: { source: { config: { partitions: 8 } } } },
      { registry: registry() },
    );
    expect(config.ports.source).toEqual({ adapter: 'embedded', config: { dir: 'source', partitions: 8 } });
    expect(config.workdir).toBe('./.vigil');
    expect(config.seed).toBe(7);
    expect(Object.isFrozen(config.ports.source.config)).toBe(true);
    expect(config.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports every mistake at once, each with its path', () => {
    const issues = issuesOf(() =>
      loadConfig(
        {
          version: 1,
          preset: 'local',
          seed: -1,
          ports: { source: { config: { partitions: 'four' } }, trainer: { adapter: 'gpu' } },
        },
        { registry: registry() },
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['seed', 'ports.source.config.partitions', 'ports.trainer.adapter']),
    );
    expect(issues).toHaveLength(3);
    expect(issues.find((i) => i.path === 'ports.trainer.adapter')!.message).toMatch(
      /unknown adapter 'gpu'.*known adapters for trainer: embedded/,
    );
  });

  it('substitutes ${env:NAME} and reports unset variables by path', () => {
    const config = loadConfig(
      { version: 1, preset: 'local', ports: { registry: { config: { password: '${env:REG_PASSWORD}' } } } },
      { registry: registry(), env: { REG_PASSWORD: 's3cret' } },
    );
    expect(config.ports.registry.config.password).toBe('s3cret');
    const issues = issuesOf(() =>
      loadConfig(
        { version: 1, preset: 'local', ports: { registry: { config: { password: '${env:NOPE}' } } } },
        { registry: registry(), env: {} },
      ),
    );
    expect(issues).toEqual([
      { path: 'ports.registry.config.password', message: 'environment variable NOPE is not set' },
    ]);
  });

  it('checks the version', () => {
    expect(
      issuesOf(() => loadConfig({ version: 2, preset: 'local' }, { registry: registry() }))[0]!.path,
    ).toBe('version');
    expect(issuesOf(() => loadConfig({ preset: 'local' }, { registry: registry() }))[0]!.message).toMatch(
      /required/,
    );
  });

  it('requires every port when no preset supplies it, and rejects unknown keys', () => {
    const issues = issuesOf(() =>
      loadConfig({ version: 1, ports: {}, extra: true }, { registry: registry() }),
    );
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['ports.source', 'ports.monitor', '(root)']),
    );
  });

  it('reports an unknown preset with the known ones', () => {
    const issues = issuesOf(() => loadConfig({ version: 1, preset: 'cloud' }, { registry: registry() }));
    expect(issues[0]).toMatchObject({ path: 'preset' });
    expect(issues[0]!.message).toMatch(/known: local/);
  });

  it('validates extra sections with their own schema', () => {
    const job = z.strictObject({ patients: z.number().int().min(10).default(100).describe('patients') });
    const issues = issuesOf(() =>
      loadConfig(
        { version: 1, preset: 'local', job: { patients: 3 } },
        { registry: registry(), sections: { job } },
      ),
    );
    expect(issues[0]!.path).toBe('job.patients');
    const ok = loadConfig({ version: 1, preset: 'local' }, { registry: registry(), sections: { job } });
    expect(ok.sections.job).toEqual({ patients: 100 });
  });

  it('parses YAML and reports syntax errors with a line', () => {
    expect(parseConfigText('version: 1\npreset: local\n')).toEqual({ version: 1, preset: 'local' });
    expect(() => parseConfigText('version: 1\n  bad: [\n')).toThrow(
      expect.objectContaining({ code: 'VIGIL_CONFIG_PARSE' }),
    );
  });
});

describe('configJsonSchema', () => {
  it('describes ports by adapter, with descriptions from the zod schemas', () => {
    const schema = configJsonSchema(registry()) as { properties: Record<string, { description?: string }> };
    const text = JSON.stringify(schema);
    expect(schema.properties.seed!.description).toMatch(/Seed/);
    expect(text).toContain('"const":"embedded"');
    expect(text).toContain('partitions');
  });
});

describe('loadConfig with a preset that references the environment', () => {
  it("resolves the preset's own ${env:…} references and reports them when unset", () => {
    const r = new ComponentRegistry('0.1.0');
    for (const a of adapters) r.register(a);
    r.register(
      definePreset({
        name: 'secrets',
        description: 'reads a password by reference',
        config: {
          version: 1,
          ports: Object.fromEntries(
            PORT_NAMES.map((p) => [
              p,
              { adapter: 'embedded', config: p === 'registry' ? { password: '${env:REG_PW}' } : {} },
            ]),
          ),
        },
        components: adapters,
      }),
    );
    const ok = loadConfig({ version: 1, preset: 'secrets' }, { registry: r, env: { REG_PW: 'pw' } });
    expect(ok.ports.registry.config.password).toBe('pw');
    const issues = issuesOf(() => loadConfig({ version: 1, preset: 'secrets' }, { registry: r, env: {} }));
    expect(issues).toEqual([
      { path: 'ports.registry.config.password', message: 'environment variable REG_PW is not set' },
    ]);
  });
});
