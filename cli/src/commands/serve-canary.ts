/**
 * What `vigil serve` does with the rollout plugin configured: a version under the
 * `challenger` alias is loaded beside the champion and walked through the plugin's canary;
 * `complete` moves the champion alias to it, `rollback` records why on it. The state lives in
 * the plugin's directory, so a restarted `vigil serve` resumes a running canary at its step.
 */
import {
  CHALLENGER,
  fallbackArtifact,
  isVigilError,
  type Logger,
  lastSteps,
  type ModelArtifact,
  promote,
  type Registry,
  type Server,
  type Trainer,
  VigilError,
  versionArtifact,
} from '@vigil/core';
import {
  type CanaryController,
  type RolloutPluginInstance,
  type RolloutState,
  readState,
  StatsDeltas,
  type VersionCounters,
  versionCountersOf,
} from '@vigil/plugin-rollout';

/** Version tags a canary leaves (`vigil models show` prints them). */
export const CANARY_TAG = {
  /** When `vigil models canary` asked for the canary (ISO time). */
  requestedAt: 'vigil.canary.requestedAt',
  requestedBy: 'vigil.canary.requestedBy',
  requestReason: 'vigil.canary.requestReason',
  /** `completed`, `rolled-back` or `not-loaded`. */
  decision: 'vigil.canary.decision',
  /** The controller's reason of the final decision. */
  reason: 'vigil.canary.reason',
  /** The failed check of a rollback: `check value > limit`. */
  failed: 'vigil.canary.failed',
  /** The champion the canary ran beside. */
  champion: 'vigil.canary.champion',
  /** When the final decision was taken (ISO time). */
  at: 'vigil.canary.at',
} as const;

/** Per-version running counters, as the embedded onnx server reports them (not part of the Server port). */
/** The backup model as the server's fallback: scored by the trainer, on the current row's features. */
function fallbackScorer(trainer: Trainer, served: ModelArtifact, backup: ModelArtifact, version: string) {
  const d = backup.featureNames.length;
  const width = served.inputs[0]?.shape[1] ?? served.featureNames.length;
  if (backup.featureNames.join('\u0000') !== served.featureNames.join('\u0000')) return undefined;
  return {
    version: `${version}-fallback`,
    score: (x: Float32Array, rows: number) => trainer.predict(backup, lastSteps(x, rows, width, d), rows),
  };
}

/** The versions of one model that `vigil serve` has loaded on its server. */
export class ServedVersions {
  readonly #loaded = new Map<string, ModelArtifact>();
  /** The version serving as champion (undefined before the first). */
  champion: string | undefined;

  constructor(
    readonly name: string,
    readonly registry: Registry,
    readonly server: Server,
    readonly trainer: Trainer | undefined,
  ) {}

  loaded(): string[] {
    return [...this.#loaded.keys()];
  }

  /** Load a registered version on the server, once. */
  async ensure(version: string): Promise<ModelArtifact> {
    let artifact = this.#loaded.get(version);
    if (!artifact) {
      artifact = await versionArtifact(this.registry, this.name, version);
      await this.server.load({ name: this.name, version, artifact });
      this.#loaded.set(version, artifact);
    }
    return artifact;
  }

  /** Unload a version (nothing when it is not loaded). */
  async drop(version: string): Promise<void> {
    if (!this.#loaded.delete(version)) return;
    await this.server.unload(this.name, version).catch(() => undefined);
  }

  /** Answer from `version`'s backup tree when the model fails; returns the fallback's name, if any. */
  async fallbackFrom(version: string): Promise<string | undefined> {
    const artifact = await this.ensure(version);
    const backup =
      this.trainer && this.server.setFallback
        ? await fallbackArtifact(this.registry, this.name, version)
        : undefined;
    const fallback =
      backup && this.trainer ? fallbackScorer(this.trainer, artifact, backup, version) : undefined;
    this.server.setFallback?.(this.name, fallback);
    return fallback?.version;
  }
}

/** The version an alias points to, or undefined when the alias is not set. */
export async function aliasVersion(
  registry: Registry,
  name: string,
  alias: string,
): Promise<string | undefined> {
  return registry.getVersionByAlias(name, alias).then(
    (v) => v.version,
    (error: unknown) => {
      if (isVigilError(error) && error.code === 'VIGIL_REGISTRY_NOT_FOUND') return undefined;
      throw error;
    },
  );
}

export interface ServeCanaryOptions {
  versions: ServedVersions;
  rollout: RolloutPluginInstance;
  logger: Logger;
  /** A line for the operator's terminal. */
  say: (line: string) => void;
}

const percent = (state: RolloutState) =>
  state.status === 'completed'
    ? 100
    : state.status === 'rolled-back'
      ? 0
      : state.config.steps[state.stepIndex];

/**
 * The canary side of `vigil serve`'s poll: call `tick(champion)` each time. It starts a canary
 * of the `challenger` alias, resumes a running one after a restart, feeds it the server's
 * error counts (the plugin's `predictions` hook feeds the answers), evaluates it (unless the
 * plugin has its own timer) and acts on the final decision.
 */
export class ServeCanary {
  readonly #versions: ServedVersions;
  readonly #rollout: RolloutPluginInstance;
  readonly #logger: Logger;
  readonly #say: (line: string) => void;
  #deltas = new StatsDeltas();

  constructor(options: ServeCanaryOptions) {
    this.#versions = options.versions;
    this.#rollout = options.rollout;
    this.#logger = options.logger;
    this.#say = options.say;
  }

  get #name(): string {
    return this.#versions.name;
  }

  /** The model's rollout: the running controller's state, else the state file, else undefined. */
  async #state(): Promise<RolloutState | undefined> {
    const live = this.#rollout.rollouts.get(this.#name)?.state;
    if (live) return live;
    return readState(this.#rollout.dir, this.#name).catch(() => undefined);
  }

  #stats(): VersionCounters {
    return versionCountersOf(this.#versions.server, this.#name);
  }

  /**
   * One poll. `champion` is the champion alias now. Returns `running` while a canary runs (the
   * caller must leave the route alone), `ended` when one just ended (the champion alias may
   * have moved: read it again and follow it), else `idle` (follow the champion alias).
   */
  async tick(champion: string): Promise<'running' | 'ended' | 'idle'> {
    const { registry } = this.#versions;
    const challenger = await aliasVersion(registry, this.#name, CHALLENGER);
    let state = await this.#state();
    if (state?.status === 'running') {
      const controller = await this.#adopt(state);
      if (state.champion !== champion || state.challenger !== challenger) {
        const why =
          state.champion !== champion
            ? `the champion alias moved to v${champion} by hand`
            : challenger === undefined
              ? 'the challenger alias was removed'
              : `the challenger alias moved to v${challenger}`;
        await controller.abort(why, Date.now());
        await this.#settle(controller.state!, champion, challenger);
        return 'ended';
      }
      await this.#feed(controller);
      state = controller.state!;
      if (state.status === 'running') return 'running';
      await this.#settle(state, champion, challenger);
      return 'ended';
    }
    if (challenger === undefined || challenger === champion) return 'idle';
    if (state && state.challenger === challenger && state.champion === champion) {
      // This pair's canary already ended: only a newer `vigil models canary` starts it again.
      const requested = (await registry.getModelVersion(this.#name, challenger)).tags[CANARY_TAG.requestedAt];
      if (requested === undefined || Date.parse(requested) <= Date.parse(state.last.at)) {
        await this.#settle(state, champion, challenger);
        return 'ended';
      }
    }
    return (await this.#start(champion, challenger)) ? 'running' : 'idle';
  }

  /** The controller of a running state, resumed (both versions loaded, its route re-applied) after a restart. */
  async #adopt(state: RolloutState): Promise<CanaryController> {
    const { rollouts } = this.#rollout;
    const running = rollouts.get(this.#name);
    if (running?.state?.status === 'running') return running;
    await this.#serveChampion(state.champion);
    await this.#versions.ensure(state.challenger);
    this.#deltas = new StatsDeltas();
    this.#deltas.next(this.#stats());
    await rollouts.resumeAll();
    const resumed = rollouts.get(this.#name);
    if (resumed?.state?.status !== 'running') {
      throw new VigilError(
        'VIGIL_PIPELINE_RUN_UNKNOWN',
        `the running canary of '${this.#name}' in ${this.#rollout.dir} could not be resumed (see the log)`,
      );
    }
    this.#say(
      `resumed canary of ${this.#name}: v${state.challenger} at ${percent(state)} % beside v${state.champion}, step ${state.stepIndex + 1} of ${state.config.steps.length}`,
    );
    return resumed;
  }

  /** The champion loaded with its fallback (a canary's first poll may come before serve followed it). */
  async #serveChampion(champion: string): Promise<void> {
    await this.#versions.ensure(champion);
    if (this.#versions.champion === champion) return;
    await this.#versions.fallbackFrom(champion);
    this.#versions.champion = champion;
  }

  async #start(champion: string, challenger: string): Promise<boolean> {
    const { registry } = this.#versions;
    await this.#serveChampion(champion);
    try {
      await this.#versions.ensure(challenger);
    } catch (error) {
      const reason = `could not load v${challenger}: ${(error as Error).message}`;
      await this.#tag(challenger, {
        [CANARY_TAG.decision]: 'not-loaded',
        [CANARY_TAG.reason]: reason,
        [CANARY_TAG.champion]: champion,
        [CANARY_TAG.at]: new Date().toISOString(),
      });
      await registry.deleteAlias(this.#name, CHALLENGER);
      this.#logger.warn({ model: this.#name, challenger, err: error }, 'canary not started');
      this.#say(`canary of ${this.#name} v${challenger} not started: ${reason}`);
      return false;
    }
    this.#deltas = new StatsDeltas();
    this.#deltas.next(this.#stats());
    const decision = await this.#rollout.rollouts.start(this.#name, champion, challenger, Date.now());
    this.#logger.info({ model: this.#name, champion, challenger, reason: decision.reason }, 'canary started');
    this.#say(`canary of ${this.#name} started: ${decision.reason}`);
    return true;
  }

  /** Give the controller what the server saw since the last poll, and evaluate it. */
  async #feed(controller: CanaryController): Promise<void> {
    const server = this.#versions.server;
    // the answers reach the controller through the plugin's predictions hook
    await server.flushPredictions?.();
    this.#rollout.rollouts.observe(this.#name, this.#deltas.next(this.#stats()));
    if (this.#rollout.evaluateEveryMs === undefined) {
      const decision = await controller.evaluate(Date.now());
      if (decision.action === 'advance') this.#say(`canary of ${this.#name}: ${decision.reason}`);
    }
  }

  async #tag(version: string, tags: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(tags))
      await this.#versions.registry.setModelVersionTag(this.#name, version, key, value);
  }

  /**
   * Act on a final decision: `completed` moves the champion alias to the challenger (the
   * caller's follow then unloads the old champion); `rolled-back` records the reason on the
   * challenger and unloads it. The challenger alias is removed when it still names it.
   */
  async #settle(state: RolloutState, champion: string, challenger: string | undefined): Promise<void> {
    const { registry } = this.#versions;
    const last = state.last;
    const tags: Record<string, string> = {
      [CANARY_TAG.decision]: state.status,
      [CANARY_TAG.reason]: last.reason ?? last.action,
      [CANARY_TAG.champion]: state.champion,
      [CANARY_TAG.at]: last.at,
      ...(last.failed
        ? { [CANARY_TAG.failed]: `${last.failed.check} ${last.failed.value} > ${last.failed.limit}` }
        : {}),
    };
    const settled =
      (await registry.getModelVersion(this.#name, state.challenger)).tags[CANARY_TAG.at] === last.at;
    if (state.status === 'completed') {
      if (champion !== state.challenger) await promote(registry, this.#name, state.challenger, tags);
      else if (!settled) await this.#tag(state.challenger, tags);
    } else {
      if (!settled) await this.#tag(state.challenger, tags);
      if (state.challenger !== champion) await this.#versions.drop(state.challenger);
    }
    if (challenger === state.challenger) await registry.deleteAlias(this.#name, CHALLENGER);
    if (settled) return;
    if (state.status === 'completed') {
      this.#logger.info(
        { model: this.#name, champion: state.challenger, was: state.champion },
        'canary completed',
      );
      this.#say(
        `canary of ${this.#name} completed: v${state.challenger} is champion (was v${state.champion}): ${last.reason}`,
      );
    } else {
      this.#logger.warn(
        { model: this.#name, challenger: state.challenger, reason: last.reason, failed: last.failed },
        'canary rolled back',
      );
      this.#say(
        `canary of ${this.#name} rolled back: v${state.challenger} unloaded, v${state.champion} serves: ${last.reason}`,
      );
    }
  }
}
