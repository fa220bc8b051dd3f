import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isVigilError } from '../errors.js';
import { ComponentRegistry } from './component-registry.js';
import { defineAdapter, definePlugin } from './define.js';

const adapter = (name: string, core = '^0.1.0') =>
  defineAdapter({
    port: 'registry',
    name,
    version: '1.0.0',
    core,
    description: name,
    config: z.strictObject({}),
    capabilities: { artifacts: true, runFilters: false },
    create: async () => {
      throw new Error('not created in these tests');
    },
  });

describe('ComponentRegistry', () => {
  it('rejects a second adapter with the same port and name', () => {
    const registry = new ComponentRegistry('0.1.0').register(adapter('file'));
    expect(() => registry.register(adapter('file'))).toThrow(
      expect.objectContaining({ code: 'VIGIL_REGISTRY_DUPLICATE' }),
    );
  });

  it('accepts re-registering the same descriptor', () => {
    const a = adapter('file');
    expect(() => new ComponentRegistry('0.1.0').register(a).register(a)).not.toThrow();
  });

  it('rejects a core version mismatch, naming both versions', () => {
    const error = (() => {
      try {
        new ComponentRegistry('0.1.0').register(adapter('future', '^2.0.0'));
      } catch (e) {
        return e;
      }
    })();
    expect(isVigilError(error, 'VIGIL_REGISTRY_CORE_MISMATCH')).toBe(true);
    expect((error as Error).message).toMatch(/\^2\.0\.0.*0\.1\.0/);
  });

  it('lists the known adapters when a name is unknown', () => {
    const registry = new ComponentRegistry('0.1.0').register(adapter('file')).register(adapter('mlflow'));
    expect(() => registry.adapter('registry', 'nope')).toThrow(/known: file, mlflow/);
  });

  it('rejects an unknown plugin and a duplicate plugin', () => {
    const plugin = definePlugin({
      name: 'audit',
      version: '1.0.0',
      core: '^0.1.0',
      description: 'audit',
      config: z.strictObject({}),
      create: async () => ({ hooks: {} }),
    });
    const registry = new ComponentRegistry('0.1.0').register(plugin);
    expect(() => registry.register({ ...plugin })).toThrow(
      expect.objectContaining({ code: 'VIGIL_REGISTRY_DUPLICATE' }),
    );
    expect(() => registry.plugin('tracing')).toThrow(
      expect.objectContaining({ code: 'VIGIL_REGISTRY_UNKNOWN_PLUGIN' }),
    );
  });
});
