import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type ComponentRegistry,
  loadConfig,
  parseConfigText,
  type VigilConfig,
  VigilError,
} from '@vigil/core';
import type { z } from 'zod';

/** The config sections of every registered job (for the JSON Schema of the config file). */
export function jobSections(registry: ComponentRegistry): Record<string, z.ZodType> {
  const jobs = registry.jobs();
  const out: Record<string, z.ZodType> = {};
  for (const job of jobs) Object.assign(out, job.sections ?? {});
  if (jobs.length === 1) out.job = jobs[0]!.config;
  return out;
}

export interface ConfigOverrides {
  preset?: string;
  workdir?: string;
  seed?: number;
  /** Keys merged into the config's `job` section before validation (e.g. `loop` from `--weeks`). */
  job?: Record<string, unknown>;
}

function isDescriptor(v: unknown): v is Parameters<ComponentRegistry['register']>[0] {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return o.kind === 'adapter' || o.kind === 'plugin' || o.kind === 'job' || Array.isArray(o.components);
}

/**
 * Import the modules a config lists under `modules` (third-party adapters, plugins,
 * presets) and register every descriptor they export. Paths are relative to the config.
 */
async function registerModules(
  doc: Record<string, unknown>,
  baseDir: string,
  registry: ComponentRegistry,
): Promise<void> {
  const modules = doc.modules;
  if (modules === undefined) return;
  if (!Array.isArray(modules) || modules.some((m) => typeof m !== 'string')) {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      'modules: expected a list of module paths or package names',
      {
        details: {
          issues: [{ path: 'modules', message: 'expected a list of module paths or package names' }],
        },
      },
    );
  }
  for (const spec of modules as string[]) {
    const target =
      spec.startsWith('.') || isAbsolute(spec) ? pathToFileURL(resolve(baseDir, spec)).href : spec;
    let exported: Record<string, unknown>;
    try {
      exported = (await import(target)) as Record<string, unknown>;
    } catch (error) {
      throw new VigilError(
        'VIGIL_CONFIG_INVALID',
        `modules: cannot import '${spec}': ${(error as Error).message}`,
        {
          cause: error,
          details: { issues: [{ path: 'modules', message: `cannot import '${spec}'` }] },
        },
      );
    }
    for (const value of Object.values(exported)) if (isDescriptor(value)) registry.register(value);
  }
}

/** Read a config file (or the named preset when no file is given), apply CLI overrides, validate. */
export async function resolveConfig(
  registry: ComponentRegistry,
  file: string | undefined,
  overrides: ConfigOverrides,
): Promise<VigilConfig> {
  let doc: Record<string, unknown> = { version: 1 };
  let baseDir = process.cwd();
  if (file) {
    const parsed = parseConfigText(await readFile(file, 'utf8'));
    doc =
      parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : { _: parsed };
    baseDir = dirname(resolve(file));
  }
  await registerModules(doc, baseDir, registry);
  const rest = { ...doc };
  if (overrides.preset) rest.preset = overrides.preset;
  if (!file && rest.preset === undefined) rest.preset = 'local';
  if (overrides.workdir) rest.workdir = overrides.workdir;
  if (overrides.seed !== undefined) rest.seed = overrides.seed;
  if (overrides.job) {
    const job =
      rest.job !== null && typeof rest.job === 'object' ? (rest.job as Record<string, unknown>) : {};
    const merged: Record<string, unknown> = { ...job };
    for (const [key, value] of Object.entries(overrides.job)) {
      const current = job[key];
      merged[key] =
        current !== null &&
        typeof current === 'object' &&
        !Array.isArray(current) &&
        typeof value === 'object'
          ? { ...(current as Record<string, unknown>), ...(value as Record<string, unknown>) }
          : value;
    }
    rest.job = merged;
  }
  return loadConfig(rest, { registry });
}
