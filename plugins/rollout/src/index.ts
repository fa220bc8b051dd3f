/**
 * @vigil/plugin-rollout — metric-driven progressive canary (and shadow evaluation) with
 * automatic rollback over the Server port: step weights, checks on the challenger's error
 * rate, p99 latency, score PSI against the champion, AUROC drop and fallback rate; state
 * persisted per model and resumed; plans exported as Seldon Core v2 Experiments.
 */
export type {
  CanaryControllerOptions,
  OutcomeSource,
  PredictionObservation,
  RolloutObservation,
} from './canary/canary-controller.js';
export { CanaryController, routeForState } from './canary/canary-controller.js';
export type { RolloutManagerOptions } from './canary/rollout-manager.js';
export { RolloutManager } from './canary/rollout-manager.js';
export type {
  CheckName,
  CheckResult,
  Decision,
  RolloutAction,
  RolloutState,
  RolloutStatus,
  VersionWindow,
} from './canary/rollout-state.js';
export { readState, statePath } from './canary/rollout-state.js';
export { StatsDeltas, type VersionCounters, versionCountersOf } from './canary/stats-deltas.js';
export { nearestRankQuantile } from './checks/latency-quantile.js';
export { binShares, fillEmptyBins, quantileEdges, type ScorePsi, scorePsi } from './checks/score-psi.js';
export { type CanaryConfig, type CanaryConfigInput, canaryConfig } from './config.js';
export {
  type RolloutPluginInstance,
  rolloutPlugin,
  rolloutPluginConfig,
  rolloutStateDir,
} from './plugin.js';
export type { SeldonExperiment, SeldonExportOptions } from './seldon/seldon-experiment.js';
export {
  dnsName,
  experimentForRoute,
  seldonExperiment,
  seldonModelName,
  seldonPlan,
  toSeldonExperiment,
  toSeldonPlan,
} from './seldon/seldon-experiment.js';
