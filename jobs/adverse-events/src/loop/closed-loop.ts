import { join } from 'node:path';
import {
  auroc,
  type Logger,
  logModel,
  type ModelArtifact,
  type Monitor,
  type OutcomeRecord,
  type Registry,
  type Server,
  type Trainer,
  type TrainingSet,
} from '@vigil/core';
import {
  CanaryController,
  type Decision,
  type PredictionObservation,
  StatsDeltas,
  versionCountersOf,
} from '@vigil/plugin-rollout';
import { subsetRows } from '../pipeline/training-set.js';
import type { PatientSplit, StoredDataset } from '../steps/feature-steps.js';
import { modelInput } from '../steps/model-inputs.js';
import type { LoopConfig } from './loop-config.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** One simulated week of the closed loop, as `vigil run --weeks N --json` reports it. */
export interface LoopWeek {
  week: number;
  /** First day of the week (ISO date). */
  from: string;
  /** Requests answered this week (all versions). */
  predictions: number;
  /** Served predictions of the last fully labelled week (made at least a horizon ago), and their quality. */
  labelled: number;
  auroc: number | null;
  ece: number | null;
  /** Share of features whose distribution this week drifted from the first loop week's (Evidently's tests). */
  driftShare: number | null;
  driftedFeatures: string[];
  retrained: boolean;
  /** Why it retrained: `schedule` or `auroc` (below `loop.minAuroc`). */
  trigger: 'schedule' | 'auroc' | null;
  gate: {
    decision: 'canary' | 'refused';
    champion: number | null;
    challenger: number | null;
    delta: number | null;
  } | null;
  /** The canary running this week: its weight at the end of the week (0 after a rollback), each step reached, and whether it continues next week. */
  canary: {
    finalWeight: number;
    rolledBack: boolean;
    reason: string | null;
    steps: number[];
    running: boolean;
  } | null;
  /** The loop version answering most traffic at the end of the week. */
  champion: string;
  failedRequests: number;
}

export interface LoopResult {
  model: string;
  weeks: LoopWeek[];
  requests: number;
  failedRequests: number;
}

export interface LoopContext {
  config: LoopConfig;
  /** The job's model name; the loop's versions are registered as `<name>-loop`. */
  name: string;
  experiment: string;
  algorithm: string;
  params: Record<string, number | string | boolean>;
  seed: number;
  dataset: StoredDataset;
  split: PatientSplit;
  sites: Readonly<Record<string, string>>;
  horizonMs: number;
  /** First trial day (ms). */
  trialStart: number;
  workdir: string;
  runId: string;
  server: Server;
  monitor: Monitor;
  trainer: Trainer;
  registry: Registry;
  logger: Logger;
  signal: AbortSignal;
  onProgress: (done: number, total: number, message: string) => void;
}

interface LoopVersion {
  /** Registry version. */
  version: string;
  artifact: ModelArtifact;
  /** Column order the model reads its rows in (a sabotaged model was trained on another one). */
  columns: Int32Array | undefined;
  trainedAt: number;
}

/** The rows with columns reordered: what a model trained on `columns` reads where it expects the served order. */
function reorder(set: TrainingSet, columns: Int32Array | undefined): TrainingSet {
  if (!columns) return set;
  const d = set.featureNames.length;
  const x = new Float32Array(set.x.length);
  for (let r = 0; r < set.y.length; r++)
    for (let j = 0; j < d; j++) x[r * d + j] = set.x[r * d + columns[j]!]!;
  return { ...set, x };
}

/**
 * The closed loop over simulated weeks, on the point-in-time rows the pipeline built. Each week:
 * retrain on the labels that have landed (on schedule, or early when the last labelled week's
 * AUROC fell below `minAuroc`); gate the challenger against the champion on recent held-out
 * patients; route the week's requests over HTTP (one per prediction point, sticky per patient)
 * through the canary, which advances or rolls back on its checks; then land the outcomes whose
 * horizon has passed and read the week's quality and drift from the Monitor, which the server fed.
 */
export async function runClosedLoop(ctx: LoopContext): Promise<LoopResult> {
  const { config, dataset, split, server, monitor, trainer, registry } = ctx;
  const model = `${ctx.name}-loop`;
  const d = dataset.featureNames.length;
  const test = new Set(split.test);
  const validation = new Set(split.validation);
  const t0 = ctx.trialStart + config.warmupWeeks * WEEK_MS;
  const landed = (row: number, now: number) => dataset.at[row]! + ctx.horizonMs <= now;

  let counter = 0;
  const train = async (now: number, sabotage: boolean): Promise<LoopVersion> => {
    const rows = subsetRows(dataset, (i) => landed(i, now) && !test.has(dataset.groups[i]!));
    let columns: Int32Array | undefined;
    if (sabotage) {
      // A training–serving skew: the training pipeline read the columns shifted by one.
      columns = Int32Array.from({ length: d }, (_, j) => (j + 1) % d);
    }
    const fit = reorder(rows, columns);
    const isValidation = (i: number) => validation.has(fit.groups[i]!);
    const result = await trainer.train(
      subsetRows(fit, (i) => !isValidation(i)),
      { algorithm: ctx.algorithm, params: ctx.params, seed: ctx.seed },
      { validation: subsetRows(fit, isValidation), signal: ctx.signal },
    );
    counter++;
    const run = await registry.createRun({
      experiment: `${ctx.experiment}-loop`,
      name: `loop-${counter}`,
      tags: {
        'vigil.loop.trainedAt': new Date(now).toISOString(),
        ...(sabotage ? { 'vigil.loop.sabotaged': 'true' } : {}),
      },
    });
    // As the pipeline logs its versions, so `vigil serve --model <name>-loop` can load them.
    await logModel(registry, run.runId, result.artifact);
    await registry.endRun(run.runId, 'FINISHED');
    await registry.createRegisteredModel(model, { description: 'Versions trained by the closed loop.' });
    const v = await registry.createModelVersion({
      name: model,
      runId: run.runId,
      source: 'model/model.onnx',
      tags: { sha256: result.artifact.sha256 },
    });
    await server.load({ name: model, version: v.version, artifact: result.artifact });
    return { version: v.version, artifact: result.artifact, columns, trainedAt: now };
  };

  /** AUROC of a version on the held-out patients' points labelled in the 4 weeks before `now`. */
  const heldOutAuroc = async (v: LoopVersion, now: number): Promise<number | null> => {
    const rows = subsetRows(
      dataset,
      (i) =>
        test.has(dataset.groups[i]!) && landed(i, now) && dataset.at[i]! >= now - 4 * WEEK_MS - ctx.horizonMs,
    );
    if (rows.y.length === 0) return null;
    const input = modelInput(v.artifact, reorder(rows, v.columns) as TrainingSet & { at?: Float64Array });
    return auroc(await trainer.predict(v.artifact, input, rows.y.length), rows.y);
  };

  // Rollout state of this run only (a rerun starts its own loop from the warm-up model).
  const rolloutDir = join(ctx.workdir, 'rollout', ctx.runId);
  let champion = await train(t0, false);
  await registry.setAlias(model, 'champion', champion.version);
  await server.route(model, { candidates: [{ version: champion.version, weight: 100 }] });
  const { url } = await server.listen({});
  const endpoint = `${url}/v2/models/${encodeURIComponent(model)}/infer`;

  const weeks: LoopWeek[] = [];
  const pending: { predictionId: string; row: number }[] = [];
  let requests = 0;
  let failedRequests = 0;
  let lastAuroc: number | null = null;
  let sabotaged = false;
  // Sequence inputs of every row, per version (a TCN or ensemble reads each patient's earlier rows).
  const inputs = new Map<string, Float32Array>();
  const inputOf = (v: LoopVersion) => {
    let x = inputs.get(v.version);
    if (!x) {
      x = modelInput(v.artifact, dataset);
      inputs.set(v.version, x);
    }
    return x;
  };
  /** A version's rows as its own training pipeline builds them (the skew check's reference). */
  /** The input a version's own training pipeline builds (its column order, for a sabotaged one), built once. */
  const offlineInputs = new Map<string, Float32Array>();
  const offlineInputOf = (v: LoopVersion) => {
    if (!v.columns) return inputOf(v);
    let x = offlineInputs.get(v.version);
    if (!x) {
      x = modelInput(v.artifact, reorder(dataset, v.columns) as StoredDataset);
      offlineInputs.set(v.version, x);
    }
    return x;
  };

  let active:
    | {
        controller: CanaryController;
        challenger: LoopVersion;
        decision: Decision;
        steps: number[];
        /** The server's error and fallback counters since the last check (failed and fallback answers). */
        deltas: StatsDeltas;
      }
    | undefined;
  for (let week = 1; week <= config.weeks; week++) {
    const from = t0 + (week - 1) * WEEK_MS;
    const to = from + WEEK_MS;
    ctx.onProgress(week - 1, config.weeks, `week ${week}: retrain and gate`);
    // 1. Unless a canary is still running: retrain on schedule or when quality fell, then gate.
    const due = from - champion.trainedAt >= config.retrainEveryDays * DAY_MS;
    const fell = lastAuroc !== null && lastAuroc < config.minAuroc;
    const trigger: LoopWeek['trigger'] = active ? null : fell ? 'auroc' : due ? 'schedule' : null;
    let gate: LoopWeek['gate'] = null;
    if (trigger) {
      const sabotage = config.sabotage && !sabotaged && week >= config.sabotageWeek;
      const candidate = await train(from, sabotage);
      const [theirs, ours] = [await heldOutAuroc(champion, from), await heldOutAuroc(candidate, from)];
      const delta = theirs !== null && ours !== null ? ours - theirs : null;
      const passes = delta !== null && delta >= -config.nonInferiority;
      gate = { decision: passes ? 'canary' : 'refused', champion: theirs, challenger: ours, delta };
      if (passes) {
        if (sabotage) sabotaged = true;
        const controller = new CanaryController({
          server,
          dir: rolloutDir,
          config: config.canary,
          outcomes: monitor,
          logger: ctx.logger,
        });
        const deltas = new StatsDeltas();
        deltas.next(versionCountersOf(server, model));
        const decision = await controller.start(model, champion.version, candidate.version, from);
        active = { controller, challenger: candidate, decision, steps: [decision.weight], deltas };
      } else {
        // Refused: champion keeps its traffic; the candidate only ever lived in the registry.
        await server.unload(model, candidate.version).catch(() => undefined);
        champion = { ...champion, trainedAt: from };
      }
    }
    // 2. Serve the week: one request per prediction point, in time order, through the canary.
    const rows: number[] = [];
    for (let i = 0; i < dataset.y.length; i++)
      if (dataset.at[i]! >= from && dataset.at[i]! < to) rows.push(i);
    rows.sort((a, b) => dataset.at[a]! - dataset.at[b]! || a - b);
    let failed = 0;
    let observations: PredictionObservation[] = [];
    /** Challenger answers since the last check: their observation and row. */
    let paired: { observation: PredictionObservation; row: number }[] = [];
    let resolved: Decision | undefined;
    const judge = async (now: Date) => {
      if (!active) return;
      // The skew check's reference: the challenger's scores of the very rows it answered, computed
      // as its training pipeline computes them (for a sabotaged model, with its column order).
      if (paired.length > 0) {
        const x = offlineInputOf(active.challenger);
        const width = x.length / dataset.y.length;
        const rowsX = new Float32Array(paired.length * width);
        paired.forEach((p, i) => {
          rowsX.set(x.subarray(p.row * width, (p.row + 1) * width), i * width);
        });
        const scores = await trainer.predict(active.challenger.artifact, rowsX, paired.length);
        // Both sides on a 1e-4 grid: onnxruntime and the trainer agree to 1e-5, and a tree model's
        // tied scores sit on the PSI's bin edges, where float noise alone would move them.
        paired.forEach((p, i) => {
          p.observation.reference = onGrid(scores[i]!);
          if (p.observation.score !== undefined) p.observation.score = onGrid(p.observation.score);
        });
        paired = [];
      }
      active.controller.observe({
        predictions: observations,
        ...active.deltas.next(versionCountersOf(server, model)),
      });
      observations = [];
      const decision = await active.controller.evaluate(now);
      active.decision = decision;
      if (decision.action === 'advance' || decision.action === 'complete') active.steps.push(decision.weight);
      if (decision.action === 'complete' || decision.action === 'rollback') resolved = decision;
    };
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      const patient = dataset.groups[row]!;
      const at = new Date(dataset.at[row]!);
      // The client sends the served feature order; every version reads its input from it.
      const x = inputOf(champion);
      const width = x.length / dataset.y.length;
      const data = Array.from(x.subarray(row * width, (row + 1) * width), (v) =>
        Number.isNaN(v) ? null : v,
      );
      const started = performance.now();
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-vigil-route-key': patient },
        body: JSON.stringify({
          id: `loop-${week}-${row}`,
          parameters: { entity_id: patient, timestamp: at.toISOString(), site: ctx.sites[patient] },
          inputs: [{ name: 'input', shape: [1, width], datatype: 'FP32', data }],
        }),
      }).catch(() => undefined);
      const latencyMs = performance.now() - started;
      requests++;
      if (!response?.ok) {
        failed++;
        await response?.body?.cancel();
        continue;
      }
      const answer = (await response.json()) as {
        model_version?: string;
        parameters?: { prediction_ids?: string[]; fallback?: boolean };
        outputs?: { name: string; data: number[] }[];
      };
      const score = answer.outputs?.find((o) => o.name === 'probabilities')?.data?.[1];
      const predictionId = answer.parameters?.prediction_ids?.[0];
      if (predictionId) pending.push({ predictionId, row });
      if (active && !resolved) {
        const observation: PredictionObservation = {
          version: answer.model_version ?? champion.version,
          ...(typeof score === 'number' ? { score } : {}),
          latencyMs,
          fallback: answer.parameters?.fallback === true,
          at,
        };
        observations.push(observation);
        if (observation.version === active.challenger.version && !observation.fallback)
          paired.push({ observation, row });
      }
      if (active && !resolved && (k + 1) % 25 === 0) await judge(at);
      if ((k + 1) % 200 === 0)
        ctx.onProgress(week - 1 + (k + 1) / rows.length, config.weeks, `week ${week}: serving`);
    }
    failedRequests += failed;
    let canary: LoopWeek['canary'] = null;
    if (active) {
      if (!resolved) await judge(new Date(to));
      const { decision, challenger, steps } = active;
      const rolledBack = decision.action === 'rollback';
      canary = {
        finalWeight: rolledBack ? 0 : decision.weight,
        rolledBack,
        reason: decision.reason ?? null,
        steps: [...steps],
        running: !resolved,
      };
      if (decision.action === 'complete') {
        await registry.setAlias(model, 'champion', challenger.version);
        await server.route(model, { candidates: [{ version: challenger.version, weight: 100 }] });
        const old = champion;
        champion = challenger;
        await server.unload(model, old.version).catch(() => undefined);
        active = undefined;
      } else if (rolledBack) {
        // The controller routed the champion back to 100 %.
        await server.unload(model, challenger.version).catch(() => undefined);
        champion = { ...champion, trainedAt: from };
        active = undefined;
      }
    }
    // 3. Outcomes whose horizon has passed land; the monitor evaluates the last labelled week.
    const outcomes: OutcomeRecord[] = [];
    for (let p = pending.length - 1; p >= 0; p--) {
      const { predictionId, row } = pending[p]!;
      if (!landed(row, to)) continue;
      outcomes.push({
        predictionId,
        label: dataset.y[row] as 0 | 1,
        at: new Date(dataset.at[row]! + ctx.horizonMs),
      });
      pending.splice(p, 1);
    }
    await server.flushPredictions?.();
    await monitor.recordOutcomes(outcomes.reverse());
    const until = new Date(to - ctx.horizonMs);
    const evaluation = await monitor.evaluate({ model, since: new Date(until.getTime() - WEEK_MS), until });
    lastAuroc = evaluation.auroc;
    // Drift: this week's served features against the first loop week's (right after deployment).
    const drift = monitor.drift
      ? await monitor.drift({
          model,
          reference: { since: new Date(t0), until: new Date(t0 + WEEK_MS) },
          since: new Date(from),
          until: new Date(to),
        })
      : undefined;
    weeks.push({
      week,
      from: new Date(from).toISOString().slice(0, 10),
      predictions: rows.length - failed,
      labelled: evaluation.labelled,
      auroc: round(evaluation.auroc),
      ece: round(evaluation.ece ?? null),
      driftShare: drift ? round(drift.driftShare) : null,
      driftedFeatures: drift?.features.filter((f) => f.drifted).map((f) => f.feature) ?? [],
      retrained: trigger !== null,
      trigger,
      gate: gate && {
        ...gate,
        champion: round(gate.champion),
        challenger: round(gate.challenger),
        delta: round(gate.delta),
      },
      canary,
      champion: champion.version,
      failedRequests: failed,
    });
    ctx.logger.info({ week: weeks.at(-1) }, 'loop week');
  }
  ctx.onProgress(config.weeks, config.weeks, 'done');
  return { model, weeks, requests, failedRequests };
}

const onGrid = (score: number) => Math.round(score * 10_000) / 10_000;

function round(value: number | null | undefined): number | null {
  return value === null || value === undefined || Number.isNaN(value)
    ? null
    : Math.round(value * 10_000) / 10_000;
}
