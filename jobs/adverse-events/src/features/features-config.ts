import { z } from 'zod';
import { durationSeconds } from './duration.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Window aggregates computed by DuckDB in batch and incrementally by the streaming push. */
export const WINDOW_FUNCTIONS = ['mean', 'variance', 'min', 'max', 'count', 'last'] as const;
export type WindowFunction = (typeof WINDOW_FUNCTIONS)[number];

const duration = (what: string) =>
  z.union([z.string(), z.number().nonnegative()]).refine((v) => durationSeconds(v) !== undefined, {
    message: `${what}: expected a duration such as 2d, 48h, 90m, 30s or a number of seconds`,
  });

const dtype = z.enum(['float64', 'float32', 'int64', 'int32', 'string', 'bool', 'timestamp']);

const positiveDuration = (what: string) =>
  duration(what).refine((v) => (durationSeconds(v) ?? 0) > 0, { message: `${what} must be longer than 0` });

const measure = (what: string) =>
  z
    .string()
    .regex(IDENT, 'a measure name is an identifier')
    .describe(
      `${what} (any measure of the catalogue, in its canonical unit; checked when the definitions compile).`,
    );

/** The kinds of transform a windowed view's feature can have. */
export const TRANSFORM_KINDS = [
  'window',
  'baseline',
  'rate',
  'threshold',
  'interaction',
  'missing',
  'since',
  'static',
] as const;
export type TransformKind = (typeof TRANSFORM_KINDS)[number];

/** Time units a `since` feature is expressed in. */
export const SINCE_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

const currentValue = {
  fn: z
    .enum(WINDOW_FUNCTIONS)
    .default('last')
    .describe('How the current value is taken: last reading (default), or mean, min, max … over `window`.'),
  window: positiveDuration('window')
    .optional()
    .describe(
      'Look-back window of the current value; without it, the latest reading at or before each row (fn must be last).',
    ),
};

const windowTransform = z
  .discriminatedUnion('kind', [
    z
      .strictObject({
        kind: z.literal('window').describe('A windowed aggregate over the view’s input measurements.'),
        of: measure('Measure aggregated (e.g. heart_rate)'),
        fn: z.enum(WINDOW_FUNCTIONS).describe('Aggregate: mean, variance (sample), min, max, count or last.'),
        window: positiveDuration('window').describe(
          'Look-back window ending at (and including) each event, e.g. 24h or 7d.',
        ),
      })
      .describe('fn(of) over the window ending at each row.'),
    z
      .strictObject({
        kind: z.literal('baseline').describe('Deviation from the patient’s own baseline.'),
        of: measure('Measure compared with its baseline'),
        period: positiveDuration('period').describe(
          'Baseline period from the patient’s first reading of the measure, e.g. 7d: the baseline is the mean of the readings in it (so far).',
        ),
        ...currentValue,
      })
      .describe('Current value minus the mean of the patient’s readings over the first `period`.'),
    z
      .strictObject({
        kind: z.literal('rate').describe('Rate of change over a window.'),
        of: measure('Measure whose rate of change is taken'),
        window: positiveDuration('window').describe(
          'Window ending at each row; its first and last readings give the change.',
        ),
        per: positiveDuration('per')
          .default('1d')
          .describe('Time unit of the rate (default 1d: change per day).'),
      })
      .describe(
        '(last − first reading in the window) / time between them, per `per`; null with fewer than two.',
      ),
    z
      .strictObject({
        kind: z.literal('threshold').describe('A threshold crossing, 0/1.'),
        of: measure('Measure compared with the threshold'),
        above: z.number().optional().describe('1 when the current value is greater than this.'),
        below: z.number().optional().describe('1 when the current value is less than this.'),
        ...currentValue,
      })
      .describe('1 when the current value crosses the threshold, else 0 (also 0 when there is no value).'),
    z
      .strictObject({
        kind: z.literal('interaction').describe('Product of two features of the same view.'),
        of: z
          .tuple([
            z.string().describe('First feature (declared earlier in the view).'),
            z.string().describe('Second feature (declared earlier in the view).'),
          ])
          .describe('The two features multiplied, both declared earlier in the same view.'),
      })
      .describe('a × b; null when either is null.'),
    z
      .strictObject({
        kind: z.literal('missing').describe('Missingness indicator, 0/1.'),
        of: measure('Measure looked for'),
        window: positiveDuration('window').describe('Window ending at each row.'),
      })
      .describe('1 when the measure has no reading in the window, else 0.'),
    z
      .strictObject({
        kind: z.literal('since').describe('Time since the last observation.'),
        of: measure('Measure whose last reading counts'),
        unit: z
          .enum(['s', 'm', 'h', 'd'])
          .default('d')
          .describe('Unit of the result: s, m, h or d (default days).'),
      })
      .describe('Time from the latest reading of the measure at or before each row; null before the first.'),
    z
      .strictObject({
        kind: z.literal('static').describe('A static covariate (a measure declared `static`).'),
        of: measure('Static measure (e.g. height)'),
      })
      .describe('The latest value ever recorded at or before each row, carried forward forever.'),
  ])
  .superRefine((t, ctx) => {
    if ((t.kind === 'baseline' || t.kind === 'threshold') && t.window === undefined && t.fn !== 'last') {
      ctx.addIssue({
        code: 'custom',
        path: ['window'],
        message: `fn ${t.fn} needs a window (without one the current value is the latest reading)`,
      });
    }
    if (t.kind === 'threshold' && (t.above === undefined) === (t.below === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['above'], message: 'give exactly one of above and below' });
    }
  })
  .describe('How the feature is computed from the input measurements.');

/** Value type a transform produces. */
export function transformDtype(t: { kind: TransformKind; fn?: WindowFunction }): 'float64' | 'int64' {
  if (t.kind === 'threshold' || t.kind === 'missing') return 'int64';
  if (t.kind === 'window' && t.fn === 'count') return 'int64';
  return 'float64';
}

const featureSchema = z
  .strictObject({
    name: z
      .string()
      .regex(IDENT, 'a feature name is an identifier (letters, digits, _)')
      .describe('Feature name.'),
    dtype: dtype
      .optional()
      .describe('Value type; window features default to float64 (int64 for count) and must match it.'),
    description: z.string().optional().describe('What the feature means.'),
    transform: windowTransform.optional(),
  })
  .describe('One feature of the view.');

const viewSchema = z
  .strictObject({
    name: z
      .string()
      .regex(IDENT, 'a view name is an identifier (letters, digits, _)')
      .describe('Feature view name.'),
    entities: z.array(z.string()).min(1).describe('Entity names (from `entities`) the view is keyed by.'),
    features: z.array(featureSchema).min(1).describe('Features of the view.'),
    ttl: duration('ttl').default(0).describe('How long a value stays valid: 2d, 48h, seconds; 0 = forever.'),
    version: z.number().int().min(1).describe('Definition version; bump it whenever the definition changes.'),
    description: z.string().optional().describe('What the view holds.'),
    source: z
      .strictObject({
        path: z.string().min(1).describe('Lake path prefix of the Parquet source (e.g. gold/patient_day/).'),
        timestampField: z.string().min(1).describe('Event timestamp column.'),
        createdTimestampField: z.string().optional().describe('Created timestamp column (tie-break).'),
      })
      .optional()
      .describe('Existing source table, for views without window features.'),
    input: z
      .strictObject({
        path: z
          .string()
          .min(1)
          .default('silver/vitals/')
          .describe('Lake path of the long measurement table (silver).'),
        topic: z.string().min(1).default('vitals').describe('Source topic the streaming push consumes.'),
      })
      .optional()
      .describe(
        'Measurements window features are computed from (batch: the silver table; streaming: the topic).',
      ),
  })
  .superRefine((view, ctx) => {
    const windowed = view.features.filter((f) => f.transform);
    if (windowed.length > 0 && windowed.length !== view.features.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['features'],
        message: 'a view mixes window and plain features; split it in two',
      });
    }
    if (windowed.length > 0 && !view.input) {
      ctx.addIssue({
        code: 'custom',
        path: ['input'],
        message: 'window features need `input` (the measurement table and topic)',
      });
    }
    if (windowed.length > 0 && view.entities.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['entities'],
        message: 'a windowed view is keyed by exactly one entity',
      });
    }
    if (windowed.length > 0 && view.source) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: 'a windowed view builds its own source; remove `source`',
      });
    }
    if (windowed.length === 0 && !view.source) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: 'a view without window features needs `source`',
      });
    }
    view.features.forEach((f, i) => {
      if (!f.transform) {
        if (!f.dtype)
          ctx.addIssue({ code: 'custom', path: ['features', i, 'dtype'], message: 'dtype is required' });
        return;
      }
      const expected = transformDtype(f.transform);
      if (f.dtype && f.dtype !== expected) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'dtype'],
          message: `${f.transform.kind === 'window' ? f.transform.fn : f.transform.kind} produces ${expected}, not ${f.dtype}`,
        });
      }
      if (f.transform.kind === 'interaction') {
        f.transform.of.forEach((operand, j) => {
          const at = view.features.findIndex((g) => g.name === operand);
          if (at < 0 || at >= i || !view.features[at]!.transform) {
            ctx.addIssue({
              code: 'custom',
              path: ['features', i, 'transform', 'of', j],
              message: `'${operand}' is not a feature declared earlier in this view`,
            });
          }
        });
      }
    });
    const names = view.features.map((f) => f.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `duplicate feature '${n}'` });
    });
  })
  .describe('A feature view.');

const REF = /^[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_][A-Za-z0-9_]*$/;

/** The `features` section of the config: entities, feature views and feature services. */
export const featuresConfigSchema = z
  .strictObject({
    entities: z
      .array(
        z.strictObject({
          name: z.string().regex(IDENT).describe('Entity name used by views.'),
          joinKey: z.string().regex(IDENT).describe('Column that identifies the entity (e.g. patient_id).'),
          description: z.string().optional().describe('What the entity is.'),
        }),
      )
      .default([])
      .describe('Entities (join keys) views are keyed by.'),
    views: z
      .array(viewSchema)
      .default([])
      .describe(
        'Feature views; none declared means the job’s built-in views (patient_daily, patient_profile).',
      ),
    services: z
      .array(
        z.strictObject({
          name: z.string().regex(IDENT).describe('Feature service name (Feast `feature_service`).'),
          features: z
            .array(z.string().regex(REF, 'expected "view:feature"'))
            .min(1)
            .describe('Features it serves.'),
        }),
      )
      .default([])
      .describe('Named feature lists the feature server accepts as `feature_service`.'),
  })
  .superRefine((cfg, ctx) => {
    const entities = new Set(cfg.entities.map((e) => e.name));
    cfg.views.forEach((view, i) => {
      view.entities.forEach((e, j) => {
        if (!entities.has(e)) {
          ctx.addIssue({
            code: 'custom',
            path: ['views', i, 'entities', j],
            message: `unknown entity '${e}' (declared: ${[...entities].join(', ') || 'none'})`,
          });
        }
      });
      if (cfg.views.findIndex((v) => v.name === view.name) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['views', i, 'name'],
          message: `duplicate view '${view.name}'`,
        });
      }
    });
    if (cfg.views.length > 0) {
      const known = new Set(cfg.views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}`)));
      cfg.services.forEach((s, i) => {
        s.features.forEach((ref, j) => {
          if (!known.has(ref)) {
            ctx.addIssue({
              code: 'custom',
              path: ['services', i, 'features', j],
              message: `unknown feature '${ref}'`,
            });
          }
        });
      });
    }
  })
  .describe('Feature definitions: entities, views (with windowed aggregates) and feature services.');

export type FeaturesConfig = z.output<typeof featuresConfigSchema>;
export type FeatureViewConfig = FeaturesConfig['views'][number];
