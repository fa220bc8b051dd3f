import { canaryConfig } from '@vigil/plugin-rollout';
import { z } from 'zod';

/** `job.loop`: the closed loop `vigil run --weeks N` plays over simulated time after the pipeline. */
export const loopConfigSchema = z
  .strictObject({
    weeks: z
      .number()
      .int()
      .min(0)
      .max(104)
      .default(0)
      .describe('Simulated weeks to play after the pipeline (`vigil run --weeks N`); 0 = no loop.'),
    warmupWeeks: z
      .number()
      .int()
      .min(1)
      .max(52)
      .default(4)
      .describe('Trial weeks the first loop model is trained on; the loop starts after them.'),
    retrainEveryDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(7)
      .describe('Retrain on schedule this many days after the last training.'),
    minAuroc: z
      .number()
      .gt(0)
      .max(1)
      .default(0.85)
      .describe('Retrain early when the served model’s last labelled week has a lower AUROC.'),
    nonInferiority: z
      .number()
      .min(0)
      .max(0.2)
      .default(0.01)
      .describe(
        'Gate: a retrained challenger goes to the canary when its AUROC on recent held-out patients is at least the champion’s minus this.',
      ),
    sabotage: z
      .boolean()
      .default(false)
      .describe(
        'Make the first challenger from `sabotageWeek` on a broken one (a training–serving skew: trained on columns in another order than served), to show the canary rolling it back.',
      ),
    sabotageWeek: z
      .number()
      .int()
      .min(1)
      .default(2)
      .describe('First loop week whose challenger is sabotaged.'),
    canary: canaryConfig
      .prefault({ maxP99Ms: 1000, maxScorePsi: null, maxSkewPsi: 0.2, maxAurocDrop: 0.1, minLabels: 500 })
      .describe(
        'The progressive canary a gated challenger goes through (the rollout plugin’s settings). Loop defaults: training–serving skew PSI ≤ 0.2, AUROC drop ≤ 0.1 once 500 answers of each version are labelled (a 5–25 % sticky share of patients has few events, so fewer labels give a noisy AUROC), error rate ≤ 1 %, p99 ≤ 1 s (simulated weeks run at machine speed); the champion-vs-challenger score PSI is off, because a model retrained under drift legitimately moves its scores (1.4–3.2 measured on good retrains).',
      ),
  })
  .prefault({
    weeks: 0,
    warmupWeeks: 4,
    retrainEveryDays: 7,
    minAuroc: 0.85,
    nonInferiority: 0.01,
    sabotage: false,
    sabotageWeek: 2,
  })
  .describe('The closed loop over simulated weeks: serve, label, monitor, retrain, gate, canary.');

export type LoopConfig = z.output<typeof loopConfigSchema>;
