import { VigilError } from '@vigil/core';
import { z } from 'zod';
import { MEASURES, type MeasureSpec, SYMPTOM_NAMES } from './measure-catalog.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A measure silver accepts: kind, canonical unit, accepted unit variants and plausible range. */
export interface CatalogMeasure extends MeasureSpec {
  /** A covariate known at enrolment, carried forward forever (features: `kind: static`). */
  static: boolean;
  description?: string;
  /** True for the built-in measures of the trial (not declared in config). */
  builtIn: boolean;
}

/** A categorical sign, reported as a `symptom` event with `symptom` = its name and `severity` 0..max. */
export interface CatalogSign {
  scale: 'binary' | 'graded';
  /** Highest severity (binary: 1). */
  max: number;
  description?: string;
  builtIn: boolean;
}

/** Everything silver, the expectations and the feature definitions know about measures and signs. */
export interface Catalog {
  measures: Readonly<Record<string, CatalogMeasure>>;
  signs: Readonly<Record<string, CatalogSign>>;
}

/** Highest severity of the built-in (graded) symptoms, and the default `max` of a graded sign. */
export const DEFAULT_SIGN_MAX = 10;

const unitConversionSchema = z
  .strictObject({
    factor: z
      .number()
      .refine((n) => Number.isFinite(n) && n !== 0, { message: 'factor must be a finite non-zero number' })
      .describe('Multiply a value in this unit by `factor` (then add `offset`) to get the canonical unit.'),
    offset: z
      .number()
      .default(0)
      .describe('Added after the factor (e.g. °F → °C: factor 5/9, offset −160/9).'),
  })
  .describe('How a unit variant converts to the canonical unit: canonical = value × factor + offset.');

const measureConfigSchema = z
  .strictObject({
    name: z
      .string()
      .regex(IDENT, 'a measure name is an identifier (letters, digits, _)')
      .describe('Measure name as events carry it in `measure` (e.g. platelets).'),
    kind: z.enum(['vital', 'lab']).describe('Event kind the measure arrives as: vital or lab.'),
    unit: z.string().min(1).describe('Canonical unit: silver stores every value in it.'),
    units: z
      .record(z.string().min(1), unitConversionSchema)
      .optional()
      .describe('Accepted unit variants besides the canonical one, each with its conversion.'),
    range: z
      .tuple([
        z.number().describe('Lowest plausible value.'),
        z.number().describe('Highest plausible value.'),
      ])
      .describe(
        'Plausible range [min, max] in the canonical unit; outside it a reading is quarantined (out_of_range).',
      ),
    static: z
      .boolean()
      .optional()
      .describe('A covariate known at enrolment (height, baseline eGFR), carried forward forever.'),
    description: z.string().optional().describe('What the measure is.'),
  })
  .superRefine((m, ctx) => {
    if (m.range[0] > m.range[1]) {
      ctx.addIssue({
        code: 'custom',
        path: ['range'],
        message: `min ${m.range[0]} is greater than max ${m.range[1]}`,
      });
    }
    if (m.units && Object.hasOwn(m.units, m.unit)) {
      ctx.addIssue({
        code: 'custom',
        path: ['units', m.unit],
        message: `'${m.unit}' is the canonical unit; list only the other accepted units`,
      });
    }
  })
  .describe('A measure (vital or lab) in the catalogue.');

/** `job.data.measures`: measures added to (or replacing) the built-in catalogue. */
export const measuresConfigSchema = z
  .array(measureConfigSchema)
  .superRefine((list, ctx) => {
    list.forEach((m, i) => {
      if (list.findIndex((o) => o.name === m.name) !== i) {
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate measure '${m.name}'` });
      }
    });
  })
  .describe(
    'Measures besides the built-in ones (a measure with a built-in name replaces it): name, kind, canonical unit, accepted units, plausible range.',
  );

const signConfigSchema = z
  .strictObject({
    name: z
      .string()
      .regex(IDENT, 'a sign name is an identifier (letters, digits, _)')
      .describe('Sign name as `symptom` events carry it (e.g. jaundice).'),
    scale: z
      .enum(['binary', 'graded'])
      .describe('binary: severity 0 (absent) or 1 (present); graded: 0..max.'),
    max: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        `Highest grade of a graded sign (default ${DEFAULT_SIGN_MAX}); not allowed for binary signs.`,
      ),
    description: z.string().optional().describe('What the sign is.'),
  })
  .superRefine((s, ctx) => {
    if (s.scale === 'binary' && s.max !== undefined && s.max !== 1) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: 'a binary sign has max 1; remove `max`' });
    }
  })
  .describe('A categorical sign (absent/present, or graded).');

/** `job.data.signs`: categorical signs added to (or replacing) the built-in symptoms. */
export const signsConfigSchema = z
  .array(signConfigSchema)
  .superRefine((list, ctx) => {
    list.forEach((s, i) => {
      if (list.findIndex((o) => o.name === s.name) !== i) {
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate sign '${s.name}'` });
      }
    });
  })
  .describe(
    'Categorical signs besides the built-in symptoms, reported as `symptom` events (symptom = name, severity).',
  );

export type MeasuresConfig = z.input<typeof measuresConfigSchema>;
export type SignsConfig = z.input<typeof signsConfigSchema>;

interface MutableCatalog {
  measures: Record<string, CatalogMeasure>;
  signs: Record<string, CatalogSign>;
}

function builtInCatalog(): MutableCatalog {
  const measures: Record<string, CatalogMeasure> = {};
  for (const [name, spec] of Object.entries(MEASURES)) {
    measures[name] = { ...spec, units: [...spec.units], static: false, builtIn: true };
  }
  const signs: Record<string, CatalogSign> = {};
  for (const name of SYMPTOM_NAMES) signs[name] = { scale: 'graded', max: DEFAULT_SIGN_MAX, builtIn: true };
  return { measures, signs };
}

function freezeCatalog(catalog: Catalog): Catalog {
  for (const m of Object.values(catalog.measures)) {
    for (const u of m.units) Object.freeze(u);
    Object.freeze(m.units);
    Object.freeze(m);
  }
  for (const s of Object.values(catalog.signs)) Object.freeze(s);
  Object.freeze(catalog.measures);
  Object.freeze(catalog.signs);
  return Object.freeze(catalog);
}

/** The built-in catalogue: the trial's ten measures ({@link MEASURES}) and five graded symptoms. */
export const DEFAULT_CATALOG: Catalog = freezeCatalog(builtInCatalog());

export interface CatalogIssue {
  path: string;
  message: string;
}

const joinPath = (prefix: string, path: readonly PropertyKey[]) =>
  [prefix, ...path.map(String)].filter((p) => p.length > 0).join('.');

/**
 * The catalogue silver and the features use: the built-in one extended by `job.data.measures`
 * and `job.data.signs` (a measure or sign with a built-in name replaces it; a built-in measure
 * keeps its kind). Every problem is reported at once, each with its path under `path`
 * (default `job.data`), as `VIGIL_CONFIG_INVALID`.
 */
export function buildCatalog(
  config: { measures?: unknown; signs?: unknown } = {},
  options: { path?: string } = {},
): Catalog {
  const prefix = options.path ?? 'job.data';
  const issues: CatalogIssue[] = [];
  const measures = measuresConfigSchema.safeParse(config.measures ?? []);
  if (!measures.success) {
    for (const i of measures.error.issues)
      issues.push({ path: joinPath(prefix, ['measures', ...i.path]), message: i.message });
  }
  const signs = signsConfigSchema.safeParse(config.signs ?? []);
  if (!signs.success) {
    for (const i of signs.error.issues)
      issues.push({ path: joinPath(prefix, ['signs', ...i.path]), message: i.message });
  }
  const catalog = builtInCatalog();
  if (measures.success) {
    measures.data.forEach((m, i) => {
      const builtIn = DEFAULT_CATALOG.measures[m.name];
      if (builtIn && builtIn.kind !== m.kind) {
        issues.push({
          path: joinPath(prefix, ['measures', i, 'kind']),
          message: `'${m.name}' is a built-in ${builtIn.kind}; a measure that replaces it keeps its kind`,
        });
      }
      catalog.measures[m.name] = {
        kind: m.kind,
        canonicalUnit: m.unit,
        units: [
          { unit: m.unit, factor: 1, offset: 0 },
          ...Object.entries(m.units ?? {}).map(([unit, c]) => ({ unit, factor: c.factor, offset: c.offset })),
        ],
        min: m.range[0],
        max: m.range[1],
        static: m.static ?? false,
        ...(m.description ? { description: m.description } : {}),
        builtIn: false,
      };
    });
  }
  if (signs.success) {
    for (const s of signs.data) {
      catalog.signs[s.name] = {
        scale: s.scale,
        max: s.scale === 'binary' ? 1 : (s.max ?? DEFAULT_SIGN_MAX),
        ...(s.description ? { description: s.description } : {}),
        builtIn: false,
      };
    }
  }
  if (issues.length > 0) {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `catalogue has ${issues.length} problem(s):\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
      { details: { issues } },
    );
  }
  return freezeCatalog(catalog);
}

/** Names of the catalogue's measures, optionally of one kind, in catalogue order. */
export function catalogMeasureNames(catalog: Catalog, kind?: 'vital' | 'lab'): string[] {
  return Object.entries(catalog.measures)
    .filter(([, m]) => kind === undefined || m.kind === kind)
    .map(([name]) => name);
}
