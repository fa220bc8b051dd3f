import { z } from 'zod';

/** Challenger weights of a canary, in percent: increasing, each in (0, 100], the last 100. */
const steps = z
  .array(z.number().gt(0).max(100))
  .min(1)
  .default([5, 10, 25, 50, 100])
  .superRefine((value, ctx) => {
    for (let i = 1; i < value.length; i++) {
      if (!(value[i]! > value[i - 1]!)) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `steps must increase: step ${i + 1} (${value[i]}) is not above step ${i} (${value[i - 1]})`,
        });
      }
    }
    if (value.length < 2) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a canary needs at least one step below 100' });
    }
    if (value.at(-1) !== 100) {
      ctx.addIssue({
        code: 'custom',
        path: [value.length - 1],
        message: `the last step must be 100 (the challenger takes all traffic), got ${value.at(-1)}`,
      });
    }
  })
  .describe(
    'Challenger weights in percent, increasing, the last 100. The rollout starts at the first; passing a step moves to the next; reaching 100 completes it (no step is judged at 100: the champion then has no traffic to compare with). Ignored in shadow mode.',
  );

export const canaryConfig = z.strictObject({
  mode: z
    .enum(['canary', 'shadow'])
    .default('canary')
    .describe(
      "'canary' serves the challenger to a growing share of traffic; 'shadow' serves the champion to all and mirrors every request to the challenger, judging the same checks on the mirror's answers without ever serving them.",
    ),
  steps,
  minRequests: z
    .number()
    .int()
    .min(1)
    .default(100)
    .describe(
      'Challenger requests (answers + errors) a step needs before it can pass; also the number of scores each version needs before the score PSI is judged.',
    ),
  minDurationMs: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Time a step must last before it can pass (ms, on the clock passed to evaluate).'),
  maxErrorRate: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .default(0.01)
    .describe(
      "Largest share of the challenger's requests in a step that may fail (errors / requests); null turns the check off.",
    ),
  maxP99Ms: z
    .number()
    .positive()
    .optional()
    .describe("Largest 99th percentile of the challenger's latency in a step (ms); off when absent."),
  maxScorePsi: z
    .number()
    .positive()
    .nullable()
    .default(0.2)
    .describe(
      "Largest PSI of the challenger's score distribution against the champion's over the same step (10 quantile bins of the champion's scores, empty bins filled as Evidently does); null turns the check off.",
    ),
  maxSkewPsi: z
    .number()
    .positive()
    .optional()
    .describe(
      "Largest PSI of the challenger's served scores against the scores the same model gave the same rows in its training pipeline (the observations' `reference`): a training–serving skew check, which neither drift nor the challenger's (sticky) share of patients moves; off when absent.",
    ),
  maxAurocDrop: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      "Largest drop of the challenger's AUROC below the champion's (labelled outcomes since the rollout started, from the outcomes source); off when absent.",
    ),
  minLabels: z
    .number()
    .int()
    .min(2)
    .default(50)
    .describe('Labelled outcomes each version needs before the AUROC check is judged.'),
  aurocRequired: z
    .boolean()
    .default(false)
    .describe(
      'When true a step cannot pass before the AUROC check is judged (both versions have minLabels labels); when false it is judged once the labels exist and does not hold the rollout before.',
    ),
  maxFallbackRate: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      "Largest share of the challenger's requests in a step answered by the fallback scorer; off when absent.",
    ),
  maxSamples: z
    .number()
    .int()
    .min(100)
    .default(5000)
    .describe(
      'Scores and latencies kept per version per step (a uniform reservoir sample beyond this), for PSI and p99; they are persisted with the state.',
    ),
});

export type CanaryConfig = z.output<typeof canaryConfig>;
export type CanaryConfigInput = z.input<typeof canaryConfig>;
