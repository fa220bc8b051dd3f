import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isVigilError, VigilError } from '../errors.js';
import { PORT_NAMES, type PortName } from '../ports/index.js';
import { ComponentRegistry } from './component-registry.js';
import { loadConfig } from './config.js';
import { defineAdapter, definePlugin, type PluginInstance } from './define.js';
import { Kernel } from './kernel.js';
import { createLogger } from './logger.js';

/** A minimal component for any port that records its lifecycle in `events`. */
function recordingAdapter(
  port: PortName,
  events: string[],
  options: { requires?: PortName[]; failStart?: boolean; slowMs?: number } = {},
) {
  return defineAdapter({
    port,
    name: 'recording',
    version: '0.1.0',
    core: '^0.1.0',
    description: 'records lifecycle events',
    config: z.strictObject({ label: z.string().default(port).describe('label') }),
    capabilities: {} as never,
    requires: options.requires ?? [],
    async create(config, ctx) {
      if (options.slowMs) await new Promise((r) => setTimeout(r, options.slowMs));
      for (const dep of options.requires ?? []) ctx.port(dep);
      if (options.failStart) throw new Error('boom');
      events.push(`start:${config.label}`);
      return {
        capabilities: {},
        async close() {
          events.push(`close:${config.label}`);
        },
        async fail() {
          throw new Error('inner failure');
        },
      } as never;
    },
  });
}

let workdir: string;
beforeEach(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'vigil-kernel-'));
});

function setup(
  events: string[],
  overrides: Partial<Record<PortName, ReturnType<typeof recordingAdapter>>> = {},
) {
  const registry = new ComponentRegistry('0.1.0');
  for (const port of PORT_NAMES) registry.register(overrides[port] ?? recordingAdapter(port, events));
  const config = loadConfig(
    { version: 1, workdir, ports: Object.fromEntries(PORT_NAMES.map((p) => [p, { adapter: 'recording' }])) },
    { registry },
  );
  return new Kernel({ registry, config, logger: createLogger({ level: 'silent' }) });
}

/** A plugin with no config whose instance `create` makes. */
function testPlugin(
  name: string,
  fields: { order?: number; requires?: PortName[]; dependencies?: string[] },
  create: () => Promise<PluginInstance>,
) {
  return definePlugin({
    name,
    version: '0.1.0',
    core: '^0.1.0',
    description: name,
    config: z.strictObject({}),
    ...fields,
    create,
  });
}

/** A registry with a recording adapter on every port. */
function recordingRegistry(events: string[]): ComponentRegistry {
  const registry = new ComponentRegistry('0.1.0');
  for (const port of PORT_NAMES) registry.register(recordingAdapter(port, events));
  return registry;
}

/** A kernel over recording adapters on every port, with `plugins` configured in this order. */
function kernelWithPlugins(registry: ComponentRegistry, plugins: string[]): Kernel {
  const config = loadConfig(
    {
      version: 1,
      workdir,
      ports: Object.fromEntries(PORT_NAMES.map((p) => [p, { adapter: 'recording' }])),
      plugins: plugins.map((name) => ({ name })),
    },
    { registry },
  );
  return new Kernel({ registry, config, logger: createLogger({ level: 'silent' }) });
}

describe('Kernel lifecycle', () => {
  const events: string[] = [];
  afterEach(() => {
    events.length = 0;
  });

  it('starts in dependency order and closes in reverse, once', async () => {
    const kernel = setup(events, {
      source: recordingAdapter('source', events, { requires: ['monitor'] }),
    });
    await kernel.start();
    const starts = events.filter((e) => e.startsWith('start:'));
    expect(starts.indexOf('start:monitor')).toBeLessThan(starts.indexOf('start:source'));
    await kernel.close();
    await kernel.close();
    const closes = events.filter((e) => e.startsWith('close:'));
    expect(closes).toEqual(starts.map((s) => s.replace('start:', 'close:')).reverse());
    expect(closes).toHaveLength(7);
  });

  it('closes what started, in reverse, when a start fails, and reports the component', async () => {
    const kernel = setup(events, { registry: recordingAdapter('registry', events, { failStart: true }) });
    const error = await kernel.start().catch((e: unknown) => e);
    expect(isVigilError(error, 'VIGIL_KERNEL_START_FAILED')).toBe(true);
    expect((error as VigilError).component).toBe('recording');
    expect(events).toEqual([
      'start:source',
      'start:lake-store',
      'start:feature-store',
      'start:trainer',
      'close:trainer',
      'close:feature-store',
      'close:lake-store',
      'close:source',
    ]);
  });

  it('times out a component that does not start', async () => {
    const registry = new ComponentRegistry('0.1.0');
    for (const port of PORT_NAMES)
      registry.register(recordingAdapter(port, events, port === 'server' ? { slowMs: 500 } : {}));
    const config = loadConfig(
      {
        version: 1,
        workdir,
        ports: Object.fromEntries(PORT_NAMES.map((p) => [p, { adapter: 'recording' }])),
      },
      { registry },
    );
    const kernel = new Kernel({
      registry,
      config,
      logger: createLogger({ level: 'silent' }),
      startTimeoutMs: 50,
    });
    const error = await kernel.start().catch((e: unknown) => e);
    expect(isVigilError(error, 'VIGIL_KERNEL_START_TIMEOUT')).toBe(true);
    expect(events.filter((e) => e.startsWith('close:'))).toHaveLength(5);
  });

  it('re-tags adapter failures with the component and method, keeping the cause', async () => {
    const kernel = setup(events);
    await kernel.start();
    const port = kernel.port('trainer') as unknown as { fail(): Promise<void> };
    const error = await port.fail().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VigilError);
    expect((error as VigilError).code).toBe('VIGIL_COMPONENT_FAILED');
    expect((error as VigilError).component).toBe('recording');
    expect((error as VigilError).method).toBe('fail');
    expect(((error as VigilError).cause as Error).message).toBe('inner failure');
    await kernel.close();
  });

  it('refuses use after close', async () => {
    const kernel = setup(events);
    await kernel.start();
    const trainer = kernel.port('trainer') as unknown as { fail(): Promise<void> };
    await kernel.close();
    expect(() => kernel.port('trainer')).toThrow(/after close/);
    expect(() => trainer.fail()).toThrow(/after the kernel closed/);
    await expect(kernel.start()).rejects.toThrow(/closed/);
  });

  it('rejects a port asked for without declaring it', async () => {
    const sneaky = defineAdapter({
      ...recordingAdapter('monitor', events),
      async create(_config, ctx) {
        ctx.port('source');
        return {} as never;
      },
    });
    const kernel = setup(events, { monitor: sneaky });
    await expect(kernel.start()).rejects.toThrow(/without declaring it/);
  });

  it('runs plugin hooks in order and never lets a hook failure escape', async () => {
    const calls: string[] = [];
    const registry = recordingRegistry(events);
    const plugin = (name: string, order: number, fail = false) =>
      testPlugin(name, { order }, async () => ({
        hooks: {
          stageEnd: ({ stage }) => {
            calls.push(`${name}:${stage}`);
            if (fail) throw new Error('plugin broke');
          },
        },
      }));
    registry.register(plugin('b', 2)).register(plugin('a', 1, true));
    const kernel = kernelWithPlugins(registry, ['b', 'a']);
    await kernel.start();
    await kernel.emit('stageEnd', { stage: 'train', durationMs: 1, outputs: {} });
    expect(calls).toEqual(['a:train', 'b:train']);
    // plugin(name) hands out what the plugin's create returned; unknown names are undefined
    expect(kernel.plugin('b')?.hooks.stageEnd).toBeTypeOf('function');
    expect(kernel.plugin('nope')).toBeUndefined();
    await kernel.close();
    expect(() => kernel.plugin('b')).toThrow(/after close/);
  });

  it('a partial start starts a plugin only when every port it requires is started', async () => {
    const registry = recordingRegistry(events);
    const plugin = (name: string, requires: PortName[], dependencies: string[] = []) =>
      testPlugin(name, { requires, dependencies }, async () => {
        events.push(`start:plugin:${name}`);
        return { hooks: {} };
      });
    registry
      .register(plugin('serving', ['server', 'monitor']))
      .register(plugin('on-serving', [], ['serving']))
      .register(plugin('hooks-only', []));
    const kernelFor = () => kernelWithPlugins(registry, ['serving', 'on-serving', 'hooks-only']);

    const registryOnly = kernelFor();
    await registryOnly.start({ ports: ['registry'] });
    expect(events.filter((e) => e.startsWith('start:'))).toEqual([
      'start:registry',
      'start:plugin:hooks-only',
    ]);
    expect(registryOnly.plugin('serving')).toBeUndefined();
    await registryOnly.close();

    events.length = 0;
    const serving = kernelFor();
    await serving.start({ ports: ['server', 'monitor'] });
    expect(events.filter((e) => e.startsWith('start:')).sort()).toEqual(
      [
        'start:monitor',
        'start:server',
        'start:plugin:serving',
        'start:plugin:on-serving',
        'start:plugin:hooks-only',
      ].sort(),
    );
    await serving.close();
  });

  it('supports await using', async () => {
    {
      await using kernel = setup(events);
      await kernel.start();
    }
    expect(events.filter((e) => e.startsWith('close:'))).toHaveLength(7);
  });
});
