import type { z } from 'zod';
import type { LineageRecord } from '../domain/lineage.js';
import type { PredictionRecord } from '../domain/prediction.js';
import type { RecordSchema } from '../domain/record-schema.js';
import type { JobDescriptor } from '../pipeline/define.js';
import type { PortMap, PortName } from '../ports/index.js';
import type { Logger } from './logger.js';

/** What the kernel hands every adapter and plugin when it creates it. */
export interface ComponentContext {
  /** Id of this run; threads through lineage, logs and registry tags. */
  readonly runId: string;
  /** Absolute working directory of the run; components keep their files under it. */
  readonly workdir: string;
  /** Seed from config; every random choice derives from it. */
  readonly seed: number;
  readonly logger: Logger;
  readonly lineage: LineageRecorder;
  /** Aborted when the kernel starts closing (SIGINT/SIGTERM): long work should stop. */
  readonly signal: AbortSignal;
  /** Shape of the records the configured job consumes (absent when no job is configured). */
  readonly schema?: RecordSchema;
  /** An already-started port this component declared in `requires`. */
  port<P extends PortName>(name: P): PortMap[P];
  /**
   * Emit a kernel hook (e.g. the server's `predictions`): plugins subscribe, and a started
   * Monitor port records `predictions`. Never throws; failures are logged.
   */
  emit<K extends keyof Hooks>(hook: K, arg: Parameters<Hooks[K]>[0]): Promise<void>;
}

export interface LineageRecorder {
  /** Append a step: what it read and what it wrote (ids, commits, versions — never patient ids). */
  record(
    step: string,
    inputs: Record<string, string>,
    outputs: Record<string, string>,
    meta?: { status?: 'ran' | 'cached' | 'resumed'; durationMs?: number; version?: number; key?: string },
  ): void;
  snapshot(): LineageRecord;
}

export interface AdapterDescriptor<P extends PortName = PortName, S extends z.ZodType = z.ZodType> {
  readonly kind: 'adapter';
  readonly port: P;
  readonly name: string;
  readonly version: string;
  /** semver range of @vigil/core this adapter was built against. */
  readonly core: string;
  readonly description: string;
  /** zod schema of the adapter's `config`; every field `.describe()`d. */
  readonly config: S;
  readonly capabilities: PortMap[P]['capabilities'];
  /** Ports that must be started before this one; reachable through `ctx.port`. */
  readonly requires?: readonly PortName[];
  /** Start timeout in ms (default 30 000). */
  readonly startTimeoutMs?: number;
  /** Build the implementation; import vendor SDKs here, lazily. */
  create(config: z.output<S>, ctx: ComponentContext): Promise<PortMap[P]>;
}

/** Typed points where plugins add behaviour. Hooks never throw into the data path. */
export interface Hooks {
  runStart(info: { runId: string; preset: string }): void | Promise<void>;
  /** After each pipeline step: its name, duration, status and the content hashes of its outputs. */
  stageEnd(info: {
    stage: string;
    durationMs: number;
    outputs: Record<string, string | number>;
  }): void | Promise<void>;
  /** Predictions a server answered (entity keys already pseudonymised). */
  predictions(records: readonly PredictionRecord[]): void | Promise<void>;
  runEnd(info: { runId: string; ok: boolean; summary?: Record<string, unknown> }): void | Promise<void>;
}

export interface PluginInstance {
  hooks: Partial<Hooks>;
  close?(): Promise<void>;
}

export interface PluginDescriptor<S extends z.ZodType = z.ZodType> {
  readonly kind: 'plugin';
  readonly name: string;
  readonly version: string;
  readonly core: string;
  readonly description: string;
  readonly config: S;
  /** Other plugins (by name) that must be configured and start first. */
  readonly dependencies?: readonly string[];
  readonly requires?: readonly PortName[];
  /** Lower runs first within a hook (default 0). */
  readonly order?: number;
  create(config: z.output<S>, ctx: ComponentContext): Promise<PluginInstance>;
}

export function defineAdapter<P extends PortName, S extends z.ZodType>(
  descriptor: Omit<AdapterDescriptor<P, S>, 'kind'>,
): AdapterDescriptor<P, S> {
  return Object.freeze({ ...descriptor, kind: 'adapter' as const });
}

export function definePlugin<S extends z.ZodType>(
  descriptor: Omit<PluginDescriptor<S>, 'kind'>,
): PluginDescriptor<S> {
  return Object.freeze({ ...descriptor, kind: 'plugin' as const });
}

/** A preset is data: which adapter fills each port, which plugins, and their config. */
export interface PresetDescriptor {
  readonly name: string;
  readonly description: string;
  /** A config document (before validation) the user's config is layered over. */
  readonly config: Record<string, unknown>;
  /** Adapters, plugins and jobs the preset needs registered. */
  readonly components: readonly (AdapterDescriptor<any, any> | PluginDescriptor<any> | JobDescriptor<any>)[];
}

export function definePreset(preset: PresetDescriptor): PresetDescriptor {
  return Object.freeze(preset);
}
