/**
 * A rollout in Seldon Core v2's vocabulary: an `Experiment` (mlops.seldon.io/v1alpha1)
 * whose `default` is the champion's endpoint, whose candidates carry the weights the
 * embedded router uses, and whose `mirror` is the shadow. For handing a rollout over to
 * a Seldon cluster; Seldon itself does not advance or roll back on metrics.
 */
import type { RouteSpec } from '@vigil/core';
import { VigilError } from '@vigil/core';
import { stringify } from 'yaml';
import { routeForState } from '../canary/canary-controller.js';
import type { RolloutState } from '../canary/rollout-state.js';

export interface SeldonExperiment {
  apiVersion: 'mlops.seldon.io/v1alpha1';
  kind: 'Experiment';
  metadata: { name: string; namespace?: string };
  spec: {
    default: string;
    candidates: { name: string; weight: number }[];
    mirror?: { name: string; percent: number };
  };
}

export interface SeldonExportOptions {
  namespace?: string;
  /** Seldon Model name of each version; default `<model>-<version>` made DNS-1123 safe. */
  modelNames?: Readonly<Record<string, string>>;
  /** metadata.name; default `<model>-rollout` made DNS-1123 safe. */
  name?: string;
}

/** Lower-case alphanumerics and '-', starting and ending alphanumeric, at most 63 characters. */
export function dnsName(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  if (name === '') {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `seldon export: '${text}' has no characters usable in a name`,
    );
  }
  return name;
}

/** The Seldon Model name of a version under `options`. */
export function seldonModelName(model: string, version: string, options: SeldonExportOptions = {}): string {
  return options.modelNames?.[version] ?? dnsName(`${model}-${version}`);
}

/** The Experiment for one route of `state`'s model (e.g. the route of one step). */
export function experimentForRoute(
  state: Pick<RolloutState, 'model' | 'champion'>,
  route: RouteSpec,
  options: SeldonExportOptions = {},
): SeldonExperiment {
  const name = (version: string) => seldonModelName(state.model, version, options);
  const candidates = route.candidates.map((c) => ({ name: name(c.version), weight: c.weight }));
  const champion = name(state.champion);
  // Seldon's `default` must be one of the candidates: keep the champion at weight 0 once it serves nothing.
  if (!candidates.some((c) => c.name === champion)) candidates.push({ name: champion, weight: 0 });
  const experiment: SeldonExperiment = {
    apiVersion: 'mlops.seldon.io/v1alpha1',
    kind: 'Experiment',
    metadata: {
      name: options.name ?? dnsName(`${state.model}-rollout`),
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    },
    spec: { default: champion, candidates },
  };
  if (route.mirror)
    experiment.spec.mirror = { name: name(route.mirror.version), percent: route.mirror.percent };
  return experiment;
}

/** The Experiment matching the route `state` implies now (the route the controller set on the server). */
export function seldonExperiment(state: RolloutState, options: SeldonExportOptions = {}): SeldonExperiment {
  return experimentForRoute(state, routeForState(state), options);
}

/** {@link seldonExperiment} as YAML text. */
export function toSeldonExperiment(state: RolloutState, options: SeldonExportOptions = {}): string {
  return stringify(seldonExperiment(state, options));
}

/** The whole plan, one Experiment per step (shadow: the single mirrored one), in order. */
export function seldonPlan(state: RolloutState, options: SeldonExportOptions = {}): SeldonExperiment[] {
  const planned = (stepIndex: number, status: RolloutState['status']) =>
    experimentForRoute(state, routeForState({ ...state, stepIndex, status }), options);
  if (state.config.mode === 'shadow') return [planned(0, 'running')];
  return state.config.steps.map((weight, i) => planned(i, weight === 100 ? 'completed' : 'running'));
}

/** {@link seldonPlan} as one YAML stream (documents separated by `---`). */
export function toSeldonPlan(state: RolloutState, options: SeldonExportOptions = {}): string {
  return seldonPlan(state, options)
    .map((experiment) => stringify(experiment))
    .join('---\n');
}
