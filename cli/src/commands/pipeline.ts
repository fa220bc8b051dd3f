import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  hashOf,
  type PortName,
  pipelineGraph,
  pipelineMermaid,
  pipelinePorts,
  readStepRecords,
  runPipeline,
  VigilError,
} from '@vigil/core';
import { codeVersion, createCliKernel } from '../cli-kernel.js';
import { createDefaultRegistry } from '../default-registry.js';
import { type ConfigOverrides, resolveConfig } from '../load-config.js';
import { ProgressDisplay } from '../progress-display.js';
import { configuredJob } from './run.js';

export interface PipelineShowOptions extends ConfigOverrides {
  config?: string;
  json?: boolean;
  format?: string;
}

/** `vigil pipeline show`: the configured job's DAG as text, JSON or Mermaid. */
export async function pipelineShowCommand(options: PipelineShowOptions): Promise<number> {
  const registry = createDefaultRegistry();
  const config = await resolveConfig(registry, options.config, options);
  const { job, pipeline } = configuredJob(registry, config);
  const { nodes } = pipelineGraph(pipeline);
  if (options.json || options.format === 'json') {
    process.stdout.write(
      `${JSON.stringify({ job: job.name, pipeline: pipeline.name, steps: nodes.map((n) => ({ name: n.name, version: n.version, needs: n.needs, inputs: n.inputs, outputs: n.outputs, requires: n.requires, description: n.description })) })}\n`,
    );
  } else if (options.format === 'mermaid') {
    process.stdout.write(`${pipelineMermaid(pipeline)}\n`);
  } else if (options.format === undefined || options.format === 'text') {
    const width = Math.max(...nodes.map((n) => n.name.length));
    process.stdout.write(`${job.name}: ${nodes.length} steps\n`);
    for (const n of nodes) {
      process.stdout.write(
        `  ${n.name.padEnd(width)}  ← ${n.needs.join(', ') || '(start)'}   [${n.requires.join(', ')}]\n`,
      );
    }
  } else {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `--format: expected text, json or mermaid, not '${options.format}'`,
    );
  }
  return 0;
}

export interface RebuildOptions extends ConfigOverrides {
  config?: string;
  json?: boolean;
  step?: string;
}

/**
 * `vigil rebuild RUN_ID`: run the past run's training set again from what its lineage
 * recorded (the lake commit it read, the feature views, the label definition, the code
 * version), with no cache, and prove it identical by hash. Exit 0 when identical, 1 when not.
 */
export async function rebuildCommand(runId: string, options: RebuildOptions): Promise<number> {
  const registry = createDefaultRegistry();
  const config = await resolveConfig(registry, options.config, options);
  const { job, pipeline, jobConfig } = configuredJob(registry, config);
  const workdir = resolve(config.workdir);
  const target = options.step ?? 'training-set';
  const recorded = await readStepRecords(workdir, runId);
  const original = recorded.get(target);
  if (!original || original.status === 'failed') {
    throw new VigilError(
      'VIGIL_PIPELINE_RUN_UNKNOWN',
      `run '${runId}' has no finished step '${target}' to rebuild`,
    );
  }
  // Everything the target is built from runs again, back to the data the run read: a step
  // whose outputs include a lake commit pins data the lake keeps immutable, so its recorded
  // outputs are read, not rebuilt.
  const { nodes } = pipelineGraph(pipeline);
  const rebuilt = new Set<string>();
  const visit = (name: string) => {
    const node = nodes.find((n) => n.name === name)!;
    if (rebuilt.has(name) || (name !== target && node.outputs.includes('lakeCommit'))) return;
    rebuilt.add(name);
    for (const d of node.needs) visit(d);
  };
  visit(target);
  const kernel = createCliKernel(registry, config, { job });
  const progress = new ProgressDisplay();
  try {
    await kernel.start({ ports: pipelinePorts(pipeline) as PortName[] });
    const result = await runPipeline({
      pipeline,
      jobConfig,
      host: kernel,
      resume: runId,
      force: [...rebuilt],
      noCache: true,
      targets: [target],
      onEvent: (e) => progress.event(e),
    });
    progress.stop();
    const past = JSON.parse(
      await readFile(join(workdir, 'runs', runId, 'lineage.json'), 'utf8').catch(() => '{}'),
    ) as { codeVersion?: string };
    const comparison = Object.entries(original.outputs).map(([name, o]) => ({
      output: `${target}.${name}`,
      recorded: o.hash,
      rebuilt: result.hashes[`${target}.${name}`] ?? null,
    }));
    const identical = comparison.every((c) => c.recorded === c.rebuilt);
    const report = {
      runId,
      rebuildRunId: kernel.runId,
      step: target,
      rebuiltSteps: [...rebuilt],
      inputs: original.inputs,
      codeVersion: { recorded: past.codeVersion ?? 'unknown', now: codeVersion() },
      configHash: hashOf(jobConfig),
      outputs: comparison,
      identical,
    };
    await kernel.close();
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      for (const c of comparison)
        process.stdout.write(
          `${c.recorded === c.rebuilt ? '✓' : '✗'} ${c.output}  recorded ${c.recorded.slice(0, 16)}  rebuilt ${String(c.rebuilt).slice(0, 16)}\n`,
        );
      process.stdout.write(
        identical
          ? `identical: run ${runId}'s ${target} rebuilt byte for byte\n`
          : `NOT identical: run ${runId}'s ${target} differs when rebuilt\n`,
      );
    }
    return identical ? 0 : 1;
  } catch (error) {
    progress.stop();
    await kernel.close();
    throw error;
  }
}
