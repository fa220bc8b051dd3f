import semver from 'semver';
import { VigilError } from '../errors.js';
import type { JobDescriptor } from '../pipeline/define.js';
import { PORT_NAMES, type PortName } from '../ports/index.js';
import type { AdapterDescriptor, PluginDescriptor, PresetDescriptor } from './define.js';

// biome-ignore lint/suspicious/noExplicitAny: descriptors are stored type-erased
export type AnyAdapter = AdapterDescriptor<PortName, any>;
// biome-ignore lint/suspicious/noExplicitAny: descriptors are stored type-erased
export type AnyPlugin = PluginDescriptor<any>;
// biome-ignore lint/suspicious/noExplicitAny: descriptors are stored type-erased
export type AnyJob = JobDescriptor<any>;

/**
 * Adapters keyed by port + name, plugins and presets by name. Rejects duplicates and
 * components built for a core version range this core does not satisfy.
 */
export class ComponentRegistry {
  readonly #coreVersion: string;
  readonly #adapters = new Map<PortName, Map<string, AnyAdapter>>();
  readonly #plugins = new Map<string, AnyPlugin>();
  readonly #presets = new Map<string, PresetDescriptor>();
  readonly #jobs = new Map<string, AnyJob>();

  constructor(coreVersion: string) {
    this.#coreVersion = coreVersion;
    for (const port of PORT_NAMES) this.#adapters.set(port, new Map());
  }

  get coreVersion(): string {
    return this.#coreVersion;
  }

  #checkCore(kind: string, name: string, range: string): void {
    if (!semver.validRange(range)) {
      throw new VigilError(
        'VIGIL_REGISTRY_CORE_MISMATCH',
        `${kind} '${name}': core range '${range}' is not a valid semver range`,
      );
    }
    if (!semver.satisfies(this.#coreVersion, range, { includePrerelease: true })) {
      throw new VigilError(
        'VIGIL_REGISTRY_CORE_MISMATCH',
        `${kind} '${name}' requires @vigil/core ${range}, but this core is ${this.#coreVersion}`,
      );
    }
  }

  /** Register an adapter, plugin, job or preset (a preset registers its components too). */
  register(component: AnyAdapter | AnyPlugin | AnyJob | PresetDescriptor): this {
    if ('components' in component) return this.registerPreset(component);
    if (component.kind === 'adapter') return this.registerAdapter(component);
    if (component.kind === 'job') return this.registerJob(component);
    return this.registerPlugin(component);
  }

  registerJob(job: AnyJob): this {
    const existing = this.#jobs.get(job.name);
    if (existing === job) return this;
    if (existing)
      throw new VigilError('VIGIL_REGISTRY_DUPLICATE', `a job '${job.name}' is already registered`);
    this.#jobs.set(job.name, job);
    return this;
  }

  job(name: string): AnyJob {
    const found = this.#jobs.get(name);
    if (!found) {
      throw new VigilError(
        'VIGIL_JOB_UNKNOWN',
        `unknown job '${name}'; known: ${this.jobNames().join(', ') || '(none registered)'}`,
      );
    }
    return found;
  }

  jobNames(): string[] {
    return [...this.#jobs.keys()].sort();
  }

  jobs(): AnyJob[] {
    return [...this.#jobs.values()];
  }

  registerAdapter(adapter: AnyAdapter): this {
    const byName = this.#adapters.get(adapter.port);
    if (!byName) {
      throw new VigilError(
        'VIGIL_REGISTRY_UNKNOWN_ADAPTER',
        `adapter '${adapter.name}' names unknown port '${adapter.port}'; ports: ${PORT_NAMES.join(', ')}`,
      );
    }
    const existing = byName.get(adapter.name);
    if (existing === adapter) return this;
    if (existing) {
      throw new VigilError(
        'VIGIL_REGISTRY_DUPLICATE',
        `an adapter '${adapter.name}' for port '${adapter.port}' is already registered`,
      );
    }
    this.#checkCore(`adapter '${adapter.port}/${adapter.name}'`, adapter.name, adapter.core);
    byName.set(adapter.name, adapter);
    return this;
  }

  registerPlugin(plugin: AnyPlugin): this {
    const existing = this.#plugins.get(plugin.name);
    if (existing === plugin) return this;
    if (existing)
      throw new VigilError('VIGIL_REGISTRY_DUPLICATE', `a plugin '${plugin.name}' is already registered`);
    this.#checkCore('plugin', plugin.name, plugin.core);
    this.#plugins.set(plugin.name, plugin);
    return this;
  }

  registerPreset(preset: PresetDescriptor): this {
    const existing = this.#presets.get(preset.name);
    if (existing && existing !== preset) {
      throw new VigilError('VIGIL_REGISTRY_DUPLICATE', `a preset '${preset.name}' is already registered`);
    }
    for (const component of preset.components) this.register(component);
    this.#presets.set(preset.name, preset);
    return this;
  }

  adapter(port: PortName, name: string): AnyAdapter {
    const found = this.#adapters.get(port)?.get(name);
    if (!found) {
      const known = this.adapterNames(port);
      throw new VigilError(
        'VIGIL_REGISTRY_UNKNOWN_ADAPTER',
        `unknown adapter '${name}' for port '${port}'; known: ${known.length ? known.join(', ') : '(none registered)'}`,
        { details: { port, name, known } },
      );
    }
    return found;
  }

  hasAdapter(port: PortName, name: string): boolean {
    return this.#adapters.get(port)?.has(name) ?? false;
  }

  adapterNames(port: PortName): string[] {
    return [...(this.#adapters.get(port)?.keys() ?? [])].sort();
  }

  adapters(): AnyAdapter[] {
    return PORT_NAMES.flatMap((port) => [...(this.#adapters.get(port)?.values() ?? [])]);
  }

  plugin(name: string): AnyPlugin {
    const found = this.#plugins.get(name);
    if (!found) {
      throw new VigilError(
        'VIGIL_REGISTRY_UNKNOWN_PLUGIN',
        `unknown plugin '${name}'; known: ${[...this.#plugins.keys()].sort().join(', ') || '(none registered)'}`,
      );
    }
    return found;
  }

  plugins(): AnyPlugin[] {
    return [...this.#plugins.values()];
  }

  preset(name: string): PresetDescriptor {
    const found = this.#presets.get(name);
    if (!found) {
      throw new VigilError(
        'VIGIL_CONFIG_UNKNOWN_PRESET',
        `unknown preset '${name}'; known: ${this.presetNames().join(', ') || '(none registered)'}`,
      );
    }
    return found;
  }

  presetNames(): string[] {
    return [...this.#presets.keys()].sort();
  }

  presets(): PresetDescriptor[] {
    return [...this.#presets.values()];
  }
}
