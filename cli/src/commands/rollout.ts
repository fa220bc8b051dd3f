import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VigilError } from '@vigil/core';
import {
  type CheckResult,
  type Decision,
  type RolloutState,
  readState,
  rolloutStateDir,
  statePath,
  toSeldonExperiment,
  toSeldonPlan,
} from '@vigil/plugin-rollout';
import { modelName } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';

export interface RolloutOptions extends ConfigOverrides {
  config?: string;
  model?: string;
  json?: boolean;
  plan?: boolean;
  namespace?: string;
}

/**
 * The model's rollout state, read from the rollout plugin's directory (its `dir`, else
 * `<workdir>/rollout`). Reading needs no running server: `vigil serve` writes the state after
 * every decision.
 */
async function loadRollout(options: RolloutOptions): Promise<RolloutState> {
  const components = createDefaultRegistry();
  const config = await resolveConfig(components, options.config, options);
  const name = modelName(components, config, options.model);
  const plugin = config.plugins.find((p) => p.name === 'rollout');
  const dir = rolloutStateDir(plugin?.config as { dir?: string } | undefined, resolve(config.workdir));
  const path = statePath(dir, name);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (!exists)
    throw new VigilError(
      'VIGIL_REGISTRY_NOT_FOUND',
      `model '${name}' has no rollout (no ${path}); \`vigil models canary VERSION\` asks a running \`vigil serve\` for one`,
    );
  return readState(dir, name);
}

const weightOf = (state: RolloutState): number =>
  state.status === 'rolled-back' || state.config.mode === 'shadow'
    ? 0
    : state.status === 'completed'
      ? 100
      : state.config.steps[state.stepIndex]!;

const round = (value: number | null): string =>
  value === null ? 'n/a' : String(Math.round(value * 1e4) / 1e4);

function checkLine(check: CheckResult): string {
  const verdict = check.passed === null ? 'not judged' : check.passed ? 'passed' : 'FAILED';
  return `${check.name} ${round(check.value)} (limit ${check.limit}) ${verdict}: ${check.detail}`;
}

function decisionLine(decision: Decision): string {
  return `${decision.at}  ${decision.action.padEnd(8)} step ${decision.step} (${decision.weight} %)${
    decision.reason ? `  ${decision.reason}` : ''
  }`;
}

/** The state without the score and latency samples: what an operator reads. */
export function rolloutSummary(state: RolloutState) {
  const requests = (w: RolloutState['window']['champion']) => w.answered + w.errors;
  return {
    model: state.model,
    champion: state.champion,
    challenger: state.challenger,
    mode: state.config.mode,
    status: state.status,
    step: state.config.mode === 'shadow' ? 1 : state.stepIndex + 1,
    steps: state.config.mode === 'shadow' ? [] : state.config.steps,
    weight: weightOf(state),
    startedAt: new Date(state.startedAt).toISOString(),
    stepStartedAt: new Date(state.stepStartedAt).toISOString(),
    requests: { champion: requests(state.window.champion), challenger: requests(state.window.challenger) },
    last: state.last,
    history: state.history,
    config: state.config,
  };
}

/** `vigil rollout status`: step, weight, the last decision's checks, the history with reasons. */
export async function rolloutStatusCommand(options: RolloutOptions): Promise<number> {
  const state = await loadRollout(options);
  const summary = rolloutSummary(state);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  const out = [
    `${state.model}: ${state.config.mode} v${state.champion} → v${state.challenger}, ${state.status}, step ${summary.step}${
      summary.steps.length ? ` of ${summary.steps.length} (${summary.steps.join(' → ')} %)` : ''
    }, challenger weight ${summary.weight} %`,
    `  this step: ${summary.requests.challenger} challenger and ${summary.requests.champion} champion requests since ${summary.stepStartedAt}`,
    `  last decision: ${decisionLine(state.last)}`,
    ...state.last.checks.map((c) => `    ${checkLine(c)}`),
    '  history:',
    ...state.history.map((d) => `    ${decisionLine(d)}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** `vigil rollout export`: the Seldon Core v2 Experiment of the current route, or every step's with `--plan`. */
export async function rolloutExportCommand(options: RolloutOptions): Promise<number> {
  const state = await loadRollout(options);
  const seldon = options.namespace === undefined ? {} : { namespace: options.namespace };
  process.stdout.write(options.plan ? toSeldonPlan(state, seldon) : toSeldonExperiment(state, seldon));
  return 0;
}
