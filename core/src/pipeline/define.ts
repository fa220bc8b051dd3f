import type { z } from 'zod';
import type { RecordSchema } from '../domain/record-schema.js';
import type { ComponentRegistry } from '../kernel/component-registry.js';
import type { VigilConfig } from '../kernel/config.js';
import type { Hooks } from '../kernel/define.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import type { PortMap, PortName } from '../ports/index.js';
import type { EntityResolver } from '../ports/server.js';

/**
 * What a step receives: the ports it declared (and only those), its config slice, a
 * progress reporter, and the run's identity. Steps do not write lineage: the runner does.
 */
export interface StepContext<C = unknown> {
  readonly runId: string;
  readonly workdir: string;
  readonly seed: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** This step's slice of the job config (what `config` selected); part of the cache key. */
  readonly config: C;
  /** Scratch folder for this step's run (created; removed after the run). */
  readonly scratch: string;
  /** A port the step declared in `requires`. */
  port<P extends PortName>(name: P): PortMap[P];
  /** Report progress: units done of total (0 = indeterminate), with an optional message. */
  progress(done: number, total: number, message?: string): void;
  /** Run a plugin hook (plugins never throw into the data path). */
  emit<K extends keyof Hooks>(hook: K, arg: Parameters<Hooks[K]>[0]): Promise<void>;
}

/** Step outputs: JSON values, typed arrays and byte arrays (stored content-addressed). */
export type StepOutputs = Record<string, unknown>;

export interface StepDescriptor<JC = unknown, C = unknown> {
  readonly kind: 'step';
  /** Unique within a pipeline; kebab-case. */
  readonly name: string;
  /** Bump when the step's code changes what it produces: part of the cache key. */
  readonly version: number;
  readonly description: string;
  /** Artifacts read, as `step.output` (an output of an upstream step). */
  readonly inputs: readonly string[];
  /** Artifacts written (keys of the object `run` returns). */
  readonly outputs: readonly string[];
  /** Ports the step uses; the kernel starts only the ports the pipeline's steps need. */
  readonly requires: readonly PortName[];
  /** The slice of the job config this step depends on (default: none). Part of the cache key. */
  readonly config?: (jobConfig: JC) => C;
  /**
   * External state the step reads beyond its inputs (e.g. a Source's end offsets), as a
   * string; part of the cache key, so a step whose world moved runs again.
   */
  readonly fingerprint?: (ctx: StepContext<C>) => Promise<string>;
  /** Whether outputs may be reused by a later run with the same key (default true). */
  readonly cache?: boolean;
  /**
   * Asked before cached or resumed outputs are reused: do they still hold in the world
   * (e.g. the events are still in the Source, the model version still in the registry)?
   * When it answers false, the step runs again.
   */
  readonly stillValid?: (ctx: StepContext<C>, outputs: Record<string, unknown>) => Promise<boolean>;
  /**
   * A pool the step runs in: steps of one pool run one at a time even when the DAG would let
   * them run together (like Airflow's pools) — e.g. CPU-bound steps that share one trainer.
   */
  readonly pool?: string;
  /** A step that may safely run twice; only those are retried. */
  readonly idempotent?: boolean;
  /** Attempts after the first for an idempotent step (default 2). */
  readonly retries?: number;
  run(ctx: StepContext<C>, inputs: Record<string, unknown>): Promise<StepOutputs>;
}

export function defineStep<JC = unknown, C = unknown>(
  step: Omit<StepDescriptor<JC, C>, 'kind'>,
): StepDescriptor<JC, C> {
  return Object.freeze({ ...step, kind: 'step' as const });
}

// biome-ignore lint/suspicious/noExplicitAny: steps of one pipeline have different config slices
export type AnyStep<JC = any> = StepDescriptor<JC, any>;

export interface PipelineDescriptor<JC = unknown> {
  readonly kind: 'pipeline';
  readonly name: string;
  readonly steps: readonly AnyStep<JC>[];
}

/** A DAG of steps: edges come from inputs naming another step's outputs. */
export function definePipeline<JC>(pipeline: {
  name: string;
  steps: readonly AnyStep<JC>[];
}): PipelineDescriptor<JC> {
  return Object.freeze({ ...pipeline, kind: 'pipeline' as const });
}

/**
 * A job: its config section, the record schema of what it consumes, the pipeline it
 * runs for a given config, and how its result reads as a summary.
 */
export interface JobDescriptor<S extends z.ZodType = z.ZodType> {
  readonly kind: 'job';
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** Schema of the `job` config section. */
  readonly config: S;
  /** Other top-level config sections this job reads (e.g. `features`). */
  readonly sections?: Readonly<Record<string, z.ZodType>>;
  /** Shape of the records the job consumes; handed to adapters in their context. */
  readonly schema?: RecordSchema;
  /** The pipeline for this config (steps may depend on config, e.g. simulate vs source). */
  pipeline(
    config: z.output<S>,
    sections: Readonly<Record<string, unknown>>,
  ): PipelineDescriptor<JobConfigOf<S>>;
  /** The registered models the job's runs produce (what `vigil models` manages); the first is the default. */
  models?(config: z.output<S>): string[];
  /** Build the run summary from the steps' outputs. */
  summarize?(
    outputs: Readonly<Record<string, StepOutputs>>,
    config: z.output<S>,
    steps: readonly { name: string; status: 'ran' | 'cached' | 'resumed' }[],
  ): Record<string, unknown>;
  /** Extra commands the job adds to the CLI (e.g. `simulate`). */
  readonly commands?: readonly JobCommand[];
  /**
   * What `vigil serve` needs from the job to answer requests by entity id and the clinician
   * endpoint: the ports the resolver reads, and the resolver itself.
   */
  readonly serving?: JobServing<S>;
}

export interface JobServing<S extends z.ZodType = z.ZodType> {
  /** Ports the resolver reads (started besides the registry, server and monitor). */
  readonly requires: readonly PortName[];
  resolver(context: {
    config: z.output<S>;
    sections: Readonly<Record<string, unknown>>;
    port<P extends PortName>(name: P): PortMap[P];
  }): EntityResolver | Promise<EntityResolver>;
}

/** The job config together with the other sections the job reads, as steps see it. */
export interface JobConfigOf<S extends z.ZodType> {
  readonly job: z.output<S>;
  readonly sections: Readonly<Record<string, unknown>>;
  readonly seed: number;
}

export interface JobCommandOption {
  /** commander flags, e.g. '--patients <n>'. */
  readonly flags: string;
  readonly description: string;
  /**
   * Parse and check the raw value; throw an Error whose message says what is expected.
   * `previous` is the value so far (undefined the first time): a repeatable option collects.
   */
  readonly parse?: (value: string, previous: unknown) => unknown;
  /** The option must be given. */
  readonly required?: boolean;
}

/**
 * A CLI command contributed by a job: `vigil <name> [arguments] [options]`, or a group of
 * subcommands. The CLI registers it and supplies a {@link CommandHost}.
 */
export interface JobCommand {
  readonly name: string;
  readonly description: string;
  /** commander argument syntax, in order: '<view>', '[file]'. */
  readonly arguments?: readonly string[];
  readonly options?: readonly JobCommandOption[];
  readonly subcommands?: readonly JobCommand[];
  /** Run the command (absent on a group of subcommands); returns the exit code. */
  run?(
    host: CommandHost,
    args: readonly string[],
    options: Readonly<Record<string, unknown>>,
  ): Promise<number>;
}

/** The options a command passes to {@link CommandHost.loadConfig}, as the CLI's flags name them. */
export interface ConfigOptions {
  /** YAML config file (default: the preset alone). */
  readonly config?: string;
  readonly preset?: string;
  readonly workdir?: string;
  readonly seed?: number;
}

/** What the CLI offers a job's command. */
export interface CommandHost {
  /** The components the CLI knows (presets, and modules a loaded config lists). */
  readonly registry: ComponentRegistry;
  /**
   * Load and validate the config: the file in `options.config` (else the preset), with the
   * overrides `options.preset`, `options.workdir` and `options.seed`.
   */
  loadConfig(options: ConfigOptions): Promise<VigilConfig>;
  /**
   * A started kernel on `config` that starts only `ports` (and what they and the plugins
   * require); logs go to <workdir>/logs/vigil.log. Close it when done (the CLI closes it
   * after the command otherwise).
   */
  kernel(config: VigilConfig, ports: readonly PortName[]): Promise<Kernel>;
  /** Progress of a stage on stderr: a bar on a terminal, otherwise a line per tenth (`<stage>: <message>`). */
  progress(stage: string, done: number, total: number, message?: string): void;
  /** Stop the progress display. */
  progressDone(): void;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export function defineJob<S extends z.ZodType>(job: Omit<JobDescriptor<S>, 'kind'>): JobDescriptor<S> {
  return Object.freeze({ ...job, kind: 'job' as const });
}
