import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLineageRecorder } from '../kernel/lineage.js';
import { createLogger } from '../kernel/logger.js';
import type { PortMap, PortName } from '../ports/index.js';
import { definePipeline, defineStep, type StepDescriptor } from './define.js';
import { pipelineGraph, pipelineMermaid, pipelinePorts } from './graph.js';
import { type PipelineHost, runPipeline } from './runner.js';

let workdir: string;
beforeEach(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'vigil-pipeline-'));
});
afterEach(async () => {
  await rm(workdir, { recursive: true, force: true });
});

function host(
  runId: string,
  ports: Partial<PortMap> = {},
  hooks: { stage: string; status: unknown }[] = [],
): PipelineHost & { lineage: ReturnType<typeof createLineageRecorder> } {
  return {
    runId,
    workdir,
    logger: createLogger({ level: 'silent' }),
    lineage: createLineageRecorder(runId),
    signal: new AbortController().signal,
    config: { seed: 1 },
    port: <P extends PortName>(name: P) => ports[name] as PortMap[P],
    emit: async (hook, arg) => {
      if (hook === 'stageEnd') {
        const info = arg as { stage: string; outputs: Record<string, unknown> };
        hooks.push({ stage: info.stage, status: info.outputs.status });
      }
    },
  };
}

type Cfg = { a: number; b: number; failTrain?: boolean };

/** load → (left, right) → join, counting the calls of each step. */
function diamond(
  calls: Record<string, number>,
  options: { failOnce?: string; failAlways?: string; idempotent?: boolean; meet?: boolean } = {},
) {
  const failed = new Set<string>();
  // left and right meet here: each waits (up to 5 s) until the other has started, so they
  // finish only if the runner runs them at the same time.
  const started = new Set<string>();
  const meet = async (name: string) => {
    if (!options.meet) return;
    started.add(name);
    const until = Date.now() + 5000;
    while (!(started.has('left') && started.has('right'))) {
      if (Date.now() > until)
        throw new Error(`${name} ran alone: the runner did not run left and right concurrently`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
    if (options.failAlways === name) throw new Error(`${name} broke`);
    if (options.failOnce === name && !failed.has(name)) {
      failed.add(name);
      throw new Error(`${name} broke once`);
    }
  };
  const load = defineStep<Cfg, number>({
    name: 'load',
    version: 1,
    description: 'numbers',
    inputs: [],
    outputs: ['xs'],
    requires: [],
    config: (c) => c.a,
    async run(ctx) {
      count('load');
      return { xs: Float64Array.from([1, 2, 3].map((v) => v * (ctx.config as number))) };
    },
  });
  const left = defineStep<Cfg, null>({
    name: 'left',
    version: 1,
    description: 'sum',
    inputs: ['load.xs'],
    outputs: ['sum'],
    requires: [],
    async run(_ctx, inputs) {
      count('left');
      await meet('left');
      return { sum: (inputs['load.xs'] as Float64Array).reduce((a, b) => a + b, 0) };
    },
  });
  const right = defineStep<Cfg, number>({
    name: 'right',
    version: 1,
    description: 'scale',
    inputs: [],
    outputs: ['k'],
    requires: [],
    config: (c) => c.b,
    ...(options.idempotent ? { idempotent: true, retries: 2 } : {}),
    async run(ctx) {
      count('right');
      await meet('right');
      return { k: ctx.config as number, at: new Date(0) };
    },
  });
  const join_ = defineStep<Cfg, null>({
    name: 'join',
    version: 1,
    description: 'product',
    inputs: ['left.sum', 'right.k'],
    outputs: ['product'],
    requires: [],
    async run(_ctx, inputs) {
      count('join');
      return { product: (inputs['left.sum'] as number) * (inputs['right.k'] as number) };
    },
  });
  return definePipeline<Cfg>({ name: 'diamond', steps: [join_, right, left, load] });
}

describe('runPipeline', () => {
  it('runs in dependency order, independent steps concurrently, and records lineage by itself', async () => {
    const calls: Record<string, number> = {};
    const events: string[] = [];
    const hooks: { stage: string; status: unknown }[] = [];
    const h = host('r1', {}, hooks);
    const result = await runPipeline({
      pipeline: diamond(calls, { meet: true }),
      jobConfig: { a: 2, b: 10 },
      host: h,
      onEvent: (e) => {
        if (e.phase === 'start' || e.phase === 'end') events.push(`${e.phase}:${e.step}`);
      },
    });
    expect(result.outputs.join!.product).toBe((2 + 4 + 6) * 10);
    expect(events.indexOf('end:load')).toBeLessThan(events.indexOf('start:left'));
    expect(events.indexOf('start:join')).toBeGreaterThan(
      Math.max(events.indexOf('end:left'), events.indexOf('end:right')),
    );
    // left and right overlap: both start before either ends (and each waited for the other).
    expect(events.indexOf('start:right')).toBeLessThan(events.indexOf('end:left'));
    expect(events.indexOf('start:left')).toBeLessThan(events.indexOf('end:right'));
    expect(hooks.map((x) => x.stage).sort()).toEqual(['join', 'left', 'load', 'right']);
    expect(hooks.every((x) => x.status === 'ran')).toBe(true);
    const lineage = h.lineage.snapshot().steps;
    expect(lineage.map((s) => s.step).sort()).toEqual(['join', 'left', 'load', 'right']);
    const join = lineage.find((s) => s.step === 'join')!;
    expect(join.status).toBe('ran');
    expect(join.inputs['left.sum']).toBe(result.hashes['left.sum']);
    expect(join.outputs.product).toBe(result.hashes['join.product']);
  });

  it('caches unchanged steps and reruns only what is downstream of a change', async () => {
    const calls: Record<string, number> = {};
    await runPipeline({ pipeline: diamond(calls), jobConfig: { a: 2, b: 10 }, host: host('c1') });
    const again = await runPipeline({
      pipeline: diamond(calls),
      jobConfig: { a: 2, b: 10 },
      host: host('c2'),
    });
    expect(again.steps.every((s) => s.status === 'cached')).toBe(true);
    expect(again.outputs.load!.xs).toEqual(Float64Array.from([2, 4, 6]));
    expect(calls).toEqual({ load: 1, left: 1, right: 1, join: 1 });
    const changed = await runPipeline({
      pipeline: diamond(calls),
      jobConfig: { a: 2, b: 20 },
      host: host('c3'),
    });
    expect(Object.fromEntries(changed.steps.map((s) => [s.name, s.status]))).toEqual({
      load: 'cached',
      left: 'cached',
      right: 'ran',
      join: 'ran',
    });
    expect(changed.outputs.join!.product).toBe(240);
    const forced = await runPipeline({
      pipeline: diamond(calls),
      jobConfig: { a: 2, b: 20 },
      host: host('c4'),
      noCache: true,
    });
    expect(forced.steps.every((s) => s.status === 'ran')).toBe(true);
  });

  it('resumes a failed run from its first unfinished step', async () => {
    const calls: Record<string, number> = {};
    await expect(
      runPipeline({
        pipeline: diamond(calls, { failAlways: 'join' }),
        jobConfig: { a: 1, b: 1 },
        host: host('f1'),
        noCache: true,
      }),
    ).rejects.toThrow(/join broke/);
    const resumed = await runPipeline({
      pipeline: diamond(calls),
      jobConfig: { a: 1, b: 1 },
      host: host('f1'),
      resume: 'f1',
      noCache: true,
    });
    expect(Object.fromEntries(resumed.steps.map((s) => [s.name, s.status]))).toEqual({
      load: 'resumed',
      left: 'resumed',
      right: 'resumed',
      join: 'ran',
    });
    expect(calls).toEqual({ load: 1, left: 1, right: 1, join: 2 });
  });

  it('retries an idempotent step with backoff, and never a step that is not', async () => {
    const calls: Record<string, number> = {};
    const ok = await runPipeline({
      pipeline: diamond(calls, { failOnce: 'right', idempotent: true }),
      jobConfig: { a: 1, b: 3 },
      host: host('i1'),
    });
    expect(ok.outputs.join!.product).toBe(18);
    expect(calls.right).toBe(2);
    const calls2: Record<string, number> = {};
    await expect(
      runPipeline({
        pipeline: diamond(calls2, { failOnce: 'right' }),
        jobConfig: { a: 1, b: 4 },
        host: host('i2'),
      }),
    ).rejects.toThrow(/right broke once/);
    expect(calls2.right).toBe(1);
  });

  it('reruns a cached step whose outputs no longer hold', async () => {
    let valid = true;
    let runs = 0;
    const step = defineStep<Cfg, null>({
      name: 'produce',
      version: 1,
      description: 'external state',
      inputs: [],
      outputs: ['n'],
      requires: [],
      stillValid: async () => valid,
      async run() {
        runs++;
        return { n: 1 };
      },
    });
    const pipeline = definePipeline<Cfg>({ name: 'p', steps: [step] });
    await runPipeline({ pipeline, jobConfig: { a: 1, b: 1 }, host: host('v1') });
    expect(
      (await runPipeline({ pipeline, jobConfig: { a: 1, b: 1 }, host: host('v2') })).steps[0]!.status,
    ).toBe('cached');
    valid = false;
    expect(
      (await runPipeline({ pipeline, jobConfig: { a: 1, b: 1 }, host: host('v3') })).steps[0]!.status,
    ).toBe('ran');
    expect(runs).toBe(2);
  });

  it('runs the steps of one pool one at a time', async () => {
    let running = 0;
    let most = 0;
    const step = (name: string, pool?: string) =>
      defineStep<Cfg, null>({
        name,
        version: 1,
        description: name,
        inputs: [],
        outputs: [],
        requires: [],
        ...(pool ? { pool } : {}),
        async run() {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 20));
          running--;
          return {};
        },
      });
    await runPipeline({
      pipeline: definePipeline<Cfg>({
        name: 'p',
        steps: [step('a', 'cpu'), step('b', 'cpu'), step('c', 'cpu')],
      }),
      jobConfig: { a: 1, b: 1 },
      host: host('p1'),
      noCache: true,
    });
    expect(most).toBe(1);
    most = 0;
    await runPipeline({
      pipeline: definePipeline<Cfg>({ name: 'p', steps: [step('a'), step('b'), step('c')] }),
      jobConfig: { a: 1, b: 1 },
      host: host('p2'),
      noCache: true,
    });
    expect(most).toBe(3);
  });

  it('refuses a port the step did not declare', async () => {
    const step = defineStep({
      name: 'sneaky',
      version: 1,
      description: 'asks for an undeclared port',
      inputs: [],
      outputs: [],
      requires: ['lake-store'],
      async run(ctx) {
        ctx.port('registry');
        return {};
      },
    }) as StepDescriptor<Cfg>;
    await expect(
      runPipeline({
        pipeline: definePipeline<Cfg>({ name: 'p', steps: [step] }),
        jobConfig: { a: 1, b: 1 },
        host: host('u1'),
      }),
    ).rejects.toMatchObject({ code: 'VIGIL_PIPELINE_UNDECLARED_PORT', component: 'step:sneaky' });
  });
});

describe('pipelineGraph', () => {
  it('orders steps, lists what each needs, the ports, and a Mermaid chart', () => {
    const p = diamond({});
    const { nodes } = pipelineGraph(p);
    expect(nodes.map((n) => n.name)).toEqual(['load', 'left', 'right', 'join']);
    expect(nodes.find((n) => n.name === 'join')!.needs.sort()).toEqual(['left', 'right']);
    expect(pipelinePorts(p)).toEqual([]);
    expect(pipelineMermaid(p)).toContain('left --> join');
  });

  it('reports an input no step outputs, a duplicate name and a cycle', () => {
    const step = (name: string, inputs: string[]) =>
      defineStep({
        name,
        version: 1,
        description: name,
        inputs,
        outputs: ['o'],
        requires: [],
        run: async () => ({ o: 1 }),
      });
    expect(() =>
      pipelineGraph(definePipeline({ name: 'x', steps: [step('a', ['b.missing']), step('b', [])] })),
    ).toThrow(/'b' outputs only o/);
    expect(() => pipelineGraph(definePipeline({ name: 'x', steps: [step('a', []), step('a', [])] }))).toThrow(
      /defined twice/,
    );
    expect(() =>
      pipelineGraph(definePipeline({ name: 'x', steps: [step('a', ['b.o']), step('b', ['a.o'])] })),
    ).toThrow(/cycle/);
  });
});
