import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Container } from 'inversify';
import type { RecordSchema } from '../domain/record-schema.js';
import { tagError, VigilError } from '../errors.js';
import type { PortMap, PortName } from '../ports/index.js';
import type { AnyAdapter, AnyPlugin, ComponentRegistry } from './component-registry.js';
import type { VigilConfig } from './config.js';
import type { ComponentContext, Hooks, LineageRecorder, PluginInstance } from './define.js';
import { createLineageRecorder } from './lineage.js';
import { createLogger, type Logger } from './logger.js';

export interface KernelOptions {
  registry: ComponentRegistry;
  config: VigilConfig;
  logger?: Logger;
  runId?: string;
  /** Code version recorded in lineage (e.g. a git commit). */
  codeVersion?: string;
  /** Default start timeout per component, ms (default 30 000). */
  startTimeoutMs?: number;
  /** Close timeout per component, ms (default 10 000). */
  closeTimeoutMs?: number;
  /** Shape of the records the configured job consumes, handed to every component. */
  schema?: RecordSchema;
}

export interface StartOptions {
  /**
   * Start only these ports (and the ports they require); default: every configured port. A
   * command starts only what it uses. A configured plugin starts only when every port it
   * requires is among them (and the plugins it depends on start): a command that starts only
   * the Registry does not start the rollout plugin, and so not its Server either.
   */
  ports?: readonly PortName[];
}

interface Started {
  id: string;
  close: () => Promise<void>;
}

type Unit =
  | { kind: 'adapter'; id: PortName; descriptor: AnyAdapter; config: unknown; requires: readonly string[] }
  | { kind: 'plugin'; id: string; descriptor: AnyPlugin; config: unknown; requires: readonly string[] };

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
      timer.unref?.();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Order units so each comes after what it requires; reports missing dependencies and cycles. */
function dependencyOrder(units: Unit[]): Unit[] {
  const byId = new Map(units.map((u) => [u.id, u]));
  const ordered: Unit[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (unit: Unit, trail: string[]) => {
    const s = state.get(unit.id);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw new VigilError(
        'VIGIL_REGISTRY_CYCLE',
        `components depend on each other in a cycle: ${[...trail, unit.id].join(' → ')}`,
      );
    }
    state.set(unit.id, 'visiting');
    for (const dep of unit.requires) {
      const target = byId.get(dep);
      if (!target) {
        throw new VigilError(
          'VIGIL_REGISTRY_MISSING_DEPENDENCY',
          `${unit.kind} '${unit.descriptor.name}' requires '${dep}', which is not configured`,
        );
      }
      visit(target, [...trail, unit.id]);
    }
    state.set(unit.id, 'done');
    ordered.push(unit);
  };
  for (const unit of units) visit(unit, []);
  return ordered;
}

/**
 * The units needed for `ports`: those ports and what they require, transitively, and every
 * plugin whose required ports and plugins are all among them.
 */
function neededUnits(units: Unit[], ports: readonly PortName[]): Unit[] {
  const byId = new Map(units.map((u) => [u.id, u]));
  const keep = new Set<string>();
  const add = (id: string) => {
    if (keep.has(id)) return;
    keep.add(id);
    for (const dep of byId.get(id)?.requires ?? []) add(dep);
  };
  for (const port of ports) {
    if (!byId.has(port)) {
      throw new VigilError(
        'VIGIL_REGISTRY_MISSING_DEPENDENCY',
        `port '${port}' is needed but not configured`,
      );
    }
    add(port);
  }
  // Plugins whose ports are all started (and whose plugin dependencies start), to a fixpoint.
  for (let grew = true; grew; ) {
    grew = false;
    for (const unit of units) {
      if (unit.kind === 'plugin' && !keep.has(unit.id) && unit.requires.every((dep) => keep.has(dep))) {
        keep.add(unit.id);
        grew = true;
      }
    }
  }
  return units.filter((u) => keep.has(u.id));
}

/**
 * Wrap a port implementation so failures are re-tagged with the adapter name and method
 * (original kept as `cause`) and use after close throws VIGIL_KERNEL_CLOSED.
 */
function guard<T extends object>(impl: T, component: string, isClosed: () => boolean): T {
  return new Proxy(impl, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      const method = String(prop);
      return (...args: unknown[]) => {
        if (isClosed() && method !== 'close') {
          throw new VigilError(
            'VIGIL_KERNEL_CLOSED',
            `${component}.${method} called after the kernel closed`,
          );
        }
        try {
          const result = value.apply(target, args);
          return result instanceof Promise
            ? result.catch((e: unknown) => Promise.reject(tagError(e, component, method)))
            : result;
        } catch (error) {
          throw tagError(error, component, method);
        }
      };
    },
  });
}

/**
 * The kernel owns the lifecycle: it creates adapters and plugins in dependency order
 * (each within a timeout), closes what started in reverse if any start fails, serves
 * ports to the job, dispatches plugin hooks, and closes everything in reverse order,
 * once, on `close()` or SIGINT/SIGTERM.
 */
export class Kernel implements AsyncDisposable {
  readonly runId: string;
  readonly logger: Logger;
  readonly lineage: LineageRecorder;
  readonly config: VigilConfig;
  readonly workdir: string;

  readonly #registry: ComponentRegistry;
  readonly #container = new Container();
  readonly #abort = new AbortController();
  readonly #started: Started[] = [];
  readonly #plugins: { name: string; order: number; instance: PluginInstance }[] = [];
  readonly #startTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #schema: RecordSchema | undefined;
  #state: 'new' | 'starting' | 'started' | 'closing' | 'closed' = 'new';
  #startPromise: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;
  #signalHandlers: { signal: NodeJS.Signals; handler: () => void }[] = [];

  constructor(options: KernelOptions) {
    this.#registry = options.registry;
    this.config = options.config;
    this.runId = options.runId ?? randomUUID();
    this.workdir = resolve(options.config.workdir);
    this.logger = (options.logger ?? createLogger({ level: options.config.log.level })).child({
      runId: this.runId,
    });
    this.lineage = createLineageRecorder(this.runId, options.codeVersion ?? 'unknown', options.config.hash);
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.#schema = options.schema;
  }

  /** Aborted when closing starts (a signal or `close()`); long work should watch it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get state(): string {
    return this.#state;
  }

  /** The ports started so far, in start order. */
  get startedPorts(): PortName[] {
    return this.#started.map((s) => s.id).filter((id): id is PortName => !id.startsWith('plugin:'));
  }

  /** Start the configured components (all, or the ports asked for). Retrying after a failed start is allowed. */
  start(options: StartOptions = {}): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new VigilError('VIGIL_KERNEL_CLOSED', 'the kernel is closed'));
    }
    this.#startPromise ??= this.#start(options).catch((error: unknown) => {
      this.#startPromise = undefined;
      throw error;
    });
    return this.#startPromise;
  }

  async #start(options: StartOptions): Promise<void> {
    this.#state = 'starting';
    await mkdir(this.workdir, { recursive: true });
    const units: Unit[] = [];
    for (const [port, entry] of Object.entries(this.config.ports) as [
      PortName,
      { adapter: string; config: unknown },
    ][]) {
      const descriptor = this.#registry.adapter(port, entry.adapter);
      units.push({
        kind: 'adapter',
        id: port,
        descriptor,
        config: entry.config,
        requires: descriptor.requires ?? [],
      });
    }
    for (const entry of this.config.plugins) {
      const descriptor = this.#registry.plugin(entry.name);
      units.push({
        kind: 'plugin',
        id: `plugin:${descriptor.name}`,
        descriptor,
        config: entry.config,
        requires: [
          ...(descriptor.requires ?? []),
          ...(descriptor.dependencies ?? []).map((d) => `plugin:${d}`),
        ],
      });
    }
    const ordered = dependencyOrder(options.ports ? neededUnits(units, options.ports) : units);
    try {
      for (const unit of ordered) await this.#startUnit(unit);
      this.#state = 'started';
      this.logger.info({ components: this.#started.map((s) => s.id) }, 'kernel started');
    } catch (error) {
      this.logger.error({ err: error }, 'start failed; closing what started');
      await this.#closeStarted();
      this.#state = 'new';
      if (error instanceof VigilError && error.code === 'VIGIL_KERNEL_START_TIMEOUT') throw error;
      const e = error as VigilError;
      throw new VigilError('VIGIL_KERNEL_START_FAILED', `start failed: ${e.message}`, {
        cause: error,
        component: e.component,
        method: 'create',
      });
    }
  }

  #context(unit: Unit): ComponentContext {
    const allowed = new Set(unit.requires);
    return {
      runId: this.runId,
      workdir: this.workdir,
      seed: this.config.seed,
      logger: this.logger.child({ component: unit.descriptor.name }),
      lineage: this.lineage,
      signal: this.#abort.signal,
      ...(this.#schema ? { schema: this.#schema } : {}),
      emit: (hook, arg) => this.emit(hook, arg),
      port: <P extends PortName>(name: P): PortMap[P] => {
        if (!allowed.has(name)) {
          throw new VigilError(
            'VIGIL_REGISTRY_MISSING_DEPENDENCY',
            `'${unit.descriptor.name}' asked for port '${name}' without declaring it in 'requires'`,
          );
        }
        return this.#container.get<PortMap[P]>(name);
      },
    };
  }

  async #startUnit(unit: Unit): Promise<void> {
    const name = unit.descriptor.name;
    const timeoutMs =
      (unit.kind === 'adapter' ? unit.descriptor.startTimeoutMs : undefined) ?? this.#startTimeoutMs;
    const created = (unit.descriptor.create as (c: unknown, ctx: ComponentContext) => Promise<unknown>)(
      unit.config,
      this.#context(unit),
    );
    const instance = await withTimeout(
      created.catch((e: unknown) => Promise.reject(tagError(e, name, 'create'))),
      timeoutMs,
      () =>
        new VigilError(
          'VIGIL_KERNEL_START_TIMEOUT',
          `${unit.kind} '${name}' did not start within ${timeoutMs} ms`,
          { component: name, method: 'create' },
        ),
    );
    if (unit.kind === 'adapter') {
      const impl = instance as PortMap[PortName];
      this.#container.bind(unit.id).toConstantValue(guard(impl, name, () => this.#state === 'closed'));
      this.#started.push({ id: unit.id, close: () => impl.close() });
    } else {
      const plugin = instance as PluginInstance;
      this.#plugins.push({ name, order: unit.descriptor.order ?? 0, instance: plugin });
      this.#plugins.sort((a, b) => a.order - b.order);
      this.#started.push({ id: unit.id, close: () => plugin.close?.() ?? Promise.resolve() });
    }
    this.logger.info({ component: name, port: unit.id }, 'started');
  }

  /**
   * The started instance of a configured plugin (what its `create` returned), or undefined when
   * the plugin is not configured or not started. A command uses it to reach what a plugin
   * exposes (e.g. the rollout plugin's `rollouts`).
   */
  plugin<T extends PluginInstance = PluginInstance>(name: string): T | undefined {
    if (this.#state === 'closed')
      throw new VigilError('VIGIL_KERNEL_CLOSED', `plugin '${name}' requested after close`);
    return this.#plugins.find((p) => p.name === name)?.instance as T | undefined;
  }

  /** The started implementation of a port. */
  port<P extends PortName>(name: P): PortMap[P] {
    if (this.#state === 'closed')
      throw new VigilError('VIGIL_KERNEL_CLOSED', `port '${name}' requested after close`);
    if (!this.#container.isBound(name)) {
      throw new VigilError(
        'VIGIL_KERNEL_NOT_STARTED',
        `port '${name}' is not started (call start() first, with it among the ports asked for)`,
      );
    }
    return this.#container.get<PortMap[P]>(name);
  }

  /**
   * Run a hook on every plugin in order; `predictions` also go to the Monitor port when it is
   * started (the server emits, the monitor records: no job feeds it by hand). Failures are
   * logged, never thrown into the data path.
   */
  async emit<K extends keyof Hooks>(hook: K, arg: Parameters<Hooks[K]>[0]): Promise<void> {
    for (const p of this.#plugins) {
      const fn = p.instance.hooks[hook] as ((a: typeof arg) => void | Promise<void>) | undefined;
      if (!fn) continue;
      try {
        await fn(arg);
      } catch (error) {
        this.logger.warn({ err: tagError(error, p.name, hook), plugin: p.name, hook }, 'plugin hook failed');
      }
    }
    if (hook === 'predictions' && this.#state !== 'closed' && this.#container.isBound('monitor')) {
      const records = arg as Parameters<Hooks['predictions']>[0];
      try {
        await this.#container.get<PortMap['monitor']>('monitor').recordPredictions([...records]);
      } catch (error) {
        this.logger.warn(
          { err: tagError(error, 'monitor', 'recordPredictions') },
          'monitor could not record predictions',
        );
      }
    }
  }

  async #closeStarted(): Promise<void> {
    while (this.#started.length > 0) {
      const unit = this.#started.pop()!;
      try {
        await withTimeout(
          Promise.resolve().then(unit.close),
          this.#closeTimeoutMs,
          () => new Error(`close of '${unit.id}' timed out after ${this.#closeTimeoutMs} ms`),
        );
        this.logger.info({ component: unit.id }, 'closed');
      } catch (error) {
        this.logger.error({ err: error, component: unit.id }, 'close failed');
      }
      if (this.#container.isBound(unit.id)) this.#container.unbind(unit.id);
    }
    this.#plugins.length = 0;
  }

  /** Close every component in reverse start order. Idempotent; waits for a start in progress. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#abort.abort(new VigilError('VIGIL_KERNEL_CLOSED', 'the kernel is closing'));
      if (this.#startPromise) await this.#startPromise.catch(() => undefined);
      this.#state = 'closing';
      await this.#closeStarted();
      this.#state = 'closed';
      this.#removeSignalHandlers();
      this.logger.info('kernel closed');
    })();
    return this.#closePromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * On SIGINT/SIGTERM: abort `signal` so in-flight work drains, and report the signal.
   * The caller closes the kernel when its work has stopped; if that takes longer than
   * `drainMs`, the kernel closes itself and exits with 128 + signal number. A second
   * signal exits at once.
   */
  handleSignals(onSignal: (signal: NodeJS.Signals) => void, drainMs = 15_000): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
      let received = false;
      const handler = () => {
        if (received) process.exit(1);
        received = true;
        this.logger.warn({ signal }, 'signal received; draining and closing');
        this.#abort.abort(new VigilError('VIGIL_KERNEL_CLOSED', `interrupted by ${signal}`));
        onSignal(signal);
        setTimeout(() => {
          void this.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
        }, drainMs).unref();
      };
      process.on(signal, handler);
      this.#signalHandlers.push({ signal, handler });
    }
  }

  #removeSignalHandlers(): void {
    for (const { signal, handler } of this.#signalHandlers) process.off(signal, handler);
    this.#signalHandlers = [];
  }
}
