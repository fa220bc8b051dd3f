import { readFile } from 'node:fs/promises';
import { configJsonSchema, isVigilError, PORT_NAMES } from '@vigil/core';
import { createDefaultRegistry } from '../default-registry.js';
import { jobSections, resolveConfig } from '../load-config.js';

/** `vigil validate FILE`: every problem with its path; exit 0 when valid, 2 when not. */
export async function validateCommand(file: string, options: { json?: boolean }): Promise<number> {
  await readFile(file); // a missing file is an error of its own, not a config problem
  try {
    const config = await resolveConfig(createDefaultRegistry(), file, {});
    if (options.json) process.stdout.write(`${JSON.stringify({ valid: true, hash: config.hash })}\n`);
    else
      process.stdout.write(
        `${file}: valid (preset ${config.preset ?? 'none'}, config hash ${config.hash.slice(0, 12)})\n`,
      );
    return 0;
  } catch (error) {
    if (!isVigilError(error) || !['VIGIL_CONFIG_INVALID', 'VIGIL_CONFIG_PARSE'].includes(error.code))
      throw error;
    const issues = (error.details?.issues ?? []) as { path: string; message: string }[];
    if (options.json) process.stdout.write(`${JSON.stringify({ valid: false, code: error.code, issues })}\n`);
    else {
      process.stdout.write(`${file}: ${issues.length} problem(s)\n`);
      for (const issue of issues) process.stdout.write(`  ${issue.path}: ${issue.message}\n`);
    }
    return 2;
  }
}

export function presetsCommand(options: { json?: boolean }): number {
  const presets = createDefaultRegistry().presets();
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(presets.map((p) => ({ name: p.name, description: p.description, ports: (p.config as { ports?: unknown }).ports })))}\n`,
    );
    return 0;
  }
  for (const p of presets) {
    process.stdout.write(`${p.name}\n  ${p.description}\n`);
    const ports = ((p.config as { ports?: Record<string, { adapter: string }> }).ports ?? {}) as Record<
      string,
      { adapter: string }
    >;
    for (const port of PORT_NAMES)
      if (ports[port]) process.stdout.write(`  ${port.padEnd(14)} ${ports[port].adapter}\n`);
  }
  return 0;
}

export function adaptersCommand(options: { json?: boolean }): number {
  const adapters = createDefaultRegistry().adapters();
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(adapters.map((a) => ({ port: a.port, name: a.name, version: a.version, description: a.description, capabilities: a.capabilities })))}\n`,
    );
    return 0;
  }
  for (const a of adapters) {
    const caps = Object.entries(a.capabilities as unknown as Record<string, unknown>)
      .map(([k, v]) => (v === true ? k : v === false ? `!${k}` : `${k}=${JSON.stringify(v)}`))
      .join(' ');
    process.stdout.write(
      `${a.port.padEnd(14)} ${a.name.padEnd(10)} ${a.version.padEnd(7)} ${a.description}\n${' '.repeat(33)}${caps}\n`,
    );
  }
  return 0;
}

export function schemaCommand(): number {
  const registry = createDefaultRegistry();
  const schema = configJsonSchema(registry, jobSections(registry));
  process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
  return 0;
}
