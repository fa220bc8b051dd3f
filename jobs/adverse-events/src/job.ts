import { defineJob, definePipeline, type StepOutputs } from '@vigil/core';
import { featuresCommand } from './commands/features.js';
import { simulateCommand } from './commands/simulate.js';
import { jobConfigSchema } from './config.js';
import { clinicalEventSchema } from './domain/event-schema.js';
import { featuresConfigSchema } from './features/features-config.js';
import { loopStep } from './loop/loop-step.js';
import type { SilverResult } from './medallion/silver.js';
import { reconcile } from './pipeline/reconciliation.js';
import { PatientResolver } from './serving/patient-resolver.js';
import { type InjectedCounts, type OraclePoints, oracleAurocs } from './simulator/simulate-trial.js';
import { generateStep, goldStep, ingestStep, silverStep } from './steps/data-steps.js';
import { featuresStep, labelStep, trainingSetStep } from './steps/feature-steps.js';
import type { AdverseEventsConfig } from './steps/job-config.js';
import {
  type CvResult,
  crossValidateStep,
  type Evaluation,
  type GateDecision,
  registerStep,
  trainStep,
} from './steps/model-steps.js';
import { monitorStep, serveStep } from './steps/serve-steps.js';
import { tuneStep } from './tuning/tune-step.js';

/** The steps of the adverse-event pipeline for a config (generate only when simulating). */
export function adverseEventsPipeline(mode: 'simulate' | 'source', tuned = false, loop = false) {
  return definePipeline<AdverseEventsConfig>({
    name: 'adverse-events',
    steps: [
      ...(mode === 'simulate' ? [generateStep] : []),
      ingestStep(mode),
      silverStep,
      goldStep,
      featuresStep,
      labelStep,
      trainingSetStep,
      ...(tuned ? [tuneStep] : []),
      trainStep(tuned),
      crossValidateStep,
      registerStep,
      serveStep,
      monitorStep,
      ...(loop ? [loopStep] : []),
    ],
  });
}

const out = (outputs: Readonly<Record<string, StepOutputs>>, step: string) => outputs[step] ?? {};

/**
 * The clinical-trial adverse-event job: events from the Source (simulated, or a team's own
 * extracts and topics) through bronze/silver/gold, features and labels from config, to a
 * registered, gated, served and monitored model.
 */
export const adverseEventsJob = defineJob({
  name: 'adverse-events',
  version: '0.1.0',
  description:
    'Predict adverse events of patients in clinical trials from streamed vitals, labs, adherence and symptom reports.',
  config: jobConfigSchema,
  sections: { features: featuresConfigSchema },
  schema: clinicalEventSchema,
  pipeline: (config) =>
    adverseEventsPipeline(config.data.mode, config.tune.trials > 0, config.loop.weeks > 0) as never,
  commands: [simulateCommand, featuresCommand],
  serving: {
    requires: ['feature-store', 'trainer'],
    resolver: ({ config, port }) =>
      new PatientResolver({
        store: port('feature-store'),
        trainer: port('trainer'),
        bands: config.serve.bands,
      }),
  },
  models: (config) => [config.model.name],
  summarize(outputs, config, steps) {
    const ran = (step: string) => steps.some((s) => s.name === step && s.status === 'ran');
    const generate = out(outputs, 'generate');
    const ingest = out(outputs, 'ingest');
    const silver = out(outputs, 'silver').counts as SilverResult | undefined;
    const gold = out(outputs, 'gold');
    const label = out(outputs, 'label');
    const train = out(outputs, 'train');
    const register = out(outputs, 'register');
    const serve = out(outputs, 'serve');
    const monitor = out(outputs, 'monitor').evaluation as Record<string, unknown> | undefined;
    const counts = label.counts as { points: number; positives: number; censored: number } | undefined;
    const rows = train.rows as Record<string, number> | undefined;
    const model = train.model as { sha256: string } | undefined;
    const evaluation = train.evaluation as Evaluation | undefined;
    const gate = register.gate as GateDecision | undefined;
    const cv = out(outputs, 'cross-validate').cv as CvResult | undefined;
    // The oracles on the model's own held-out patients (same patients as `auroc`), and on all.
    const split = out(outputs, 'training-set').split as { test: string[] } | undefined;
    const oracle =
      generate.oracle && split ? oracleAurocs(generate.oracle as OraclePoints, split.test) : undefined;
    const tuneOut = out(outputs, 'tune');
    const tune = tuneOut.best
      ? {
          best: tuneOut.best as { params: Record<string, unknown>; auroc: number | null },
          parentRunId: tuneOut.parentRunId as string,
          strategy: tuneOut.strategy as { sampler: string; scheduler: string; jobs: number } | undefined,
          nested: tuneOut.nested as {
            folds: number;
            aurocMean: number | null;
            aurocSd: number | null;
          } | null,
        }
      : undefined;
    return {
      mode: config.data.mode,
      events: Number(ingest.eventsIn ?? 0),
      // Sent to the Source by this run (a reused trial sends nothing).
      produced: ran('generate') ? Number(generate.produced ?? 0) : 0,
      layers: silver
        ? {
            bronze: silver.bronze,
            silver: silver.silver,
            duplicates: silver.duplicates,
            quarantined: silver.quarantined,
            goldPatientDays: Number(gold.patientDays ?? 0),
          }
        : undefined,
      quarantineReasons: silver?.reasons,
      reconciliation: silver
        ? reconcile({
            in: Number(ingest.eventsIn ?? 0),
            silver,
            ...(generate.injected ? { injected: generate.injected as InjectedCounts } : {}),
          })
        : undefined,
      label: counts
        ? { points: counts.points, positives: counts.positives, censored: counts.censored }
        : undefined,
      model: register.version
        ? {
            name: config.model.name,
            algorithm: config.model.algorithm,
            version: register.version,
            alias: register.alias ?? null,
            sha256: model?.sha256,
            auroc: train.testAuroc,
            aurocCi: evaluation?.aurocCi ?? null,
            auprc: evaluation?.auprc ?? null,
            brier: evaluation?.brier,
            ece: evaluation?.ece,
            cv: cv ? { folds: cv.folds, aurocMean: cv.aurocMean, aurocSd: cv.aurocSd } : undefined,
            tune: tune
              ? {
                  sampler: tune.strategy?.sampler,
                  scheduler: tune.strategy?.scheduler,
                  trials: config.tune.trials,
                  jobs: tune.strategy?.jobs,
                  bestCvAuroc: tune.best.auroc,
                  bestParams: tune.best.params,
                  parentRunId: tune.parentRunId,
                  // Nested CV of tune-then-fit: outer grouped folds the tuning never saw.
                  nested: tune.nested
                    ? {
                        folds: tune.nested.folds,
                        aurocMean: tune.nested.aurocMean,
                        aurocSd: tune.nested.aurocSd,
                      }
                    : null,
                }
              : undefined,
            operatingPoint: evaluation?.operatingPoint ?? null,
            gate: gate
              ? {
                  decision: gate.decision,
                  champion: gate.champion,
                  challenger: gate.challenger,
                  delta: gate.delta,
                }
              : undefined,
            served: serve.servedVersion ?? null,
            // The best any model could do knowing each patient's present state (future shocks
            // unknown), on the held-out test patients; and the realised oracle (shocks known).
            ...(oracle?.ceiling != null ? { ceiling: oracle.ceiling } : {}),
            ...(oracle?.bayes != null ? { bayesAuroc: oracle.bayes } : {}),
            ...(generate.ceilingAuroc !== undefined
              ? { ceilingAllPatients: generate.ceilingAuroc, bayesAurocAllPatients: generate.bayesAuroc }
              : {}),
            trainRows: rows?.train,
            testRows: rows?.test,
            testPatients: rows?.testPatients,
          }
        : undefined,
      latencyMs: serve.latencyMs,
      monitor,
      online: serve.online,
      lakeCommit: out(outputs, 'features').lakeCommit,
      trainingRunId: register.trainingRunId,
      ...(outputs.loop
        ? {
            timeline: outputs.loop.timeline,
            loop: {
              model: outputs.loop.model,
              requests: outputs.loop.requests,
              failedRequests: outputs.loop.failedRequests,
            },
          }
        : {}),
    };
  },
});
