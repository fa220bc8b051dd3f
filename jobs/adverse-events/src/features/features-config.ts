import { z } from 'zod';
import { MEASURES } from '../medallion/measure-catalog.js';
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

const windowTransform = z
  .strictObject({
    kind: z.literal('window').describe('A windowed aggregate over the view’s input measurements.'),
    of: z
      .string()
      .refine((m) => Object.hasOwn(MEASURES, m), {
        message: `unknown measure; known: ${Object.keys(MEASURES).join(', ')}`,
      })
      .describe('Measure aggregated (e.g. heart_rate), in its canonical unit.'),
    fn: z.enum(WINDOW_FUNCTIONS).describe('Aggregate: mean, variance (sample), min, max, count or last.'),
    window: duration('window')
      .refine((v) => (durationSeconds(v) ?? 0) > 0, { message: 'window must be longer than 0' })
      .describe('Look-back window ending at (and including) each event, e.g. 24h or 7d.'),
  })
  .describe('How the feature is computed from the input measurements.');

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
      const expected = f.transform.fn === 'count' ? 'int64' : 'float64';
      if (f.dtype && f.dtype !== expected) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'dtype'],
          message: `${f.transform.fn} produces ${expected}, not ${f.dtype}`,
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
