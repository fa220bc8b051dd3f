import { VigilError } from '../errors.js';
import type { AnyStep, PipelineDescriptor } from './define.js';

export interface PipelineNode {
  name: string;
  version: number;
  description: string;
  /** Steps whose outputs this one reads. */
  needs: string[];
  inputs: string[];
  outputs: string[];
  requires: string[];
}

/** Split `step.output` into its parts. */
export function parseInput(ref: string): { step: string; output: string } {
  const dot = ref.indexOf('.');
  return { step: ref.slice(0, dot), output: ref.slice(dot + 1) };
}

/**
 * Check a pipeline (unique names, inputs naming declared outputs of other steps, no
 * cycles) and return its steps in a dependency order, each with the steps it needs.
 */
export function pipelineGraph<JC>(pipeline: PipelineDescriptor<JC>): {
  order: AnyStep<JC>[];
  nodes: PipelineNode[];
} {
  const byName = new Map<string, AnyStep<JC>>();
  const problems: string[] = [];
  for (const step of pipeline.steps) {
    if (byName.has(step.name)) problems.push(`step '${step.name}' is defined twice`);
    byName.set(step.name, step);
  }
  const needs = new Map<string, string[]>();
  for (const step of pipeline.steps) {
    const deps = new Set<string>();
    for (const ref of step.inputs) {
      const { step: from, output } = parseInput(ref);
      const source = byName.get(from);
      if (!source) problems.push(`step '${step.name}' reads '${ref}', but there is no step '${from}'`);
      else if (!source.outputs.includes(output))
        problems.push(
          `step '${step.name}' reads '${ref}', but '${from}' outputs only ${source.outputs.join(', ')}`,
        );
      else deps.add(from);
    }
    needs.set(step.name, [...deps]);
  }
  if (problems.length > 0) {
    throw new VigilError('VIGIL_PIPELINE_INVALID', `pipeline '${pipeline.name}': ${problems.join('; ')}`);
  }
  const order: AnyStep<JC>[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      throw new VigilError(
        'VIGIL_PIPELINE_CYCLE',
        `pipeline '${pipeline.name}' has a cycle: ${[...trail, name].join(' → ')}`,
      );
    }
    state.set(name, 'visiting');
    for (const dep of needs.get(name) ?? []) visit(dep, [...trail, name]);
    state.set(name, 'done');
    order.push(byName.get(name)!);
  };
  for (const step of pipeline.steps) visit(step.name, []);
  return {
    order,
    nodes: order.map((s) => ({
      name: s.name,
      version: s.version,
      description: s.description,
      needs: needs.get(s.name) ?? [],
      inputs: [...s.inputs],
      outputs: [...s.outputs],
      requires: [...s.requires],
    })),
  };
}

/** Every port the pipeline's steps require, in first-use order. */
export function pipelinePorts<JC>(pipeline: PipelineDescriptor<JC>): string[] {
  return [...new Set(pipeline.steps.flatMap((s) => s.requires))];
}

/** The DAG as a Mermaid flowchart. */
export function pipelineMermaid<JC>(pipeline: PipelineDescriptor<JC>): string {
  const { nodes } = pipelineGraph(pipeline);
  const id = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['flowchart TD'];
  for (const n of nodes) lines.push(`  ${id(n.name)}["${n.name}"]`);
  for (const n of nodes) for (const d of n.needs) lines.push(`  ${id(d)} --> ${id(n.name)}`);
  return lines.join('\n');
}
