import { join } from 'node:path';
import { defineStep, hashOf, type Source } from '@vigil/core';
import { SIMULATED_TOPICS } from '../domain/topics.js';
import { buildCatalog } from '../medallion/catalog-config.js';
import { buildExpectationSuite } from '../medallion/expectations.js';
import { createMedallion } from '../medallion/index.js';
import { ingestToBronze, produceEvents } from '../pipeline/ingest.js';
import { simulateTrial } from '../simulator/index.js';
import type { AdverseEventsConfig } from './job-config.js';
import { lakeHolds, onLakeBranch } from './lake-branch.js';

/** Records the Source holds on `topics` (sum of end offsets); topics that do not exist hold none. */
async function held(
  source: Source,
  topics: readonly string[],
): Promise<{ total: number; byPartition: string }> {
  let total = 0;
  const parts: string[] = [];
  for (const topic of topics) {
    const info = await source.describeTopic(topic).catch(() => undefined);
    if (!info) continue;
    info.endOffsets.forEach((o, p) => {
      total += Number(o);
      parts.push(`${topic}/${p}=${o}`);
    });
  }
  return { total, byPartition: parts.join(',') };
}

/** generate (simulate mode): the seeded trial, produced into the Source once. */
export const generateStep = defineStep<
  AdverseEventsConfig,
  { seed: number; trial: unknown; topicPrefix: string }
>({
  name: 'generate',
  version: 3,
  description:
    'Simulate the seeded multi-site trial and produce its events into the Source (once per trial).',
  inputs: [],
  outputs: ['topics', 'events', 'produced', 'injected', 'bayesAuroc', 'ceilingAuroc', 'oracle'],
  requires: ['source'],
  config: (c) => ({ seed: c.seed, trial: c.job.trial, topicPrefix: c.job.topicPrefix }),
  // The events must still be in the Source for the cached outputs to hold.
  stillValid: async (ctx, out) =>
    (await held(ctx.port('source'), out.topics as string[])).total >= Number(out.events),
  async run(ctx) {
    const c = ctx.config as { seed: number; trial: AdverseEventsConfig['job']['trial']; topicPrefix: string };
    const sim = simulateTrial({
      seed: c.seed,
      patients: c.trial.patients,
      days: c.trial.days,
      sites: c.trial.sites,
      start: new Date(c.trial.start),
      ...(c.trial.drift ? { drift: c.trial.drift } : {}),
    });
    const prefix = c.topicPrefix;
    const events = prefix ? sim.events.map((e) => ({ ...e, topic: `${prefix}${e.topic}` })) : sim.events;
    const { produced, topics } = await produceEvents(ctx.port('source'), events, {
      partitions: Math.max(1, c.trial.sites),
      signal: ctx.signal,
      onProgress: (p) => ctx.progress(p.done, p.total, p.message),
      // Once per trial: a rerun without the cache finds the trial already in the Source.
      marker: join(ctx.workdir, 'generated', `${hashOf(ctx.config).slice(0, 16)}.json`),
    });
    return {
      topics,
      events: sim.events.length,
      produced,
      injected: sim.injected,
      bayesAuroc: sim.bayesAuroc,
      ceilingAuroc: sim.ceilingAuroc,
      oracle: sim.oracle,
    };
  },
});

/** The topics ingest reads: generated ones, configured ones, or the job's six (prefixed). */
function ingestTopics(c: AdverseEventsConfig): string[] {
  return c.job.data.topics ?? SIMULATED_TOPICS.map((t) => `${c.job.topicPrefix}${t}`);
}

/** ingest: the Source's topics into bronze, the shipped recovery path included. */
export const ingestStep = (mode: 'simulate' | 'source') =>
  defineStep<
    AdverseEventsConfig,
    { topics: string[] | null; group: string; batchSize: number; topicPrefix: string }
  >({
    name: 'ingest',
    version: 1,
    description:
      'Drain the Source into bronze on the lake’s default branch: a lake commit per batch, offsets committed after it.',
    inputs: mode === 'simulate' ? ['generate.topics'] : [],
    outputs: ['lakeCommit', 'eventsIn', 'consumed', 'batches', 'bronzeRows', 'offsets'],
    requires: ['source', 'lake-store'],
    config: (c) => ({
      topics: mode === 'source' ? ingestTopics(c) : null,
      group: c.job.consumerGroup,
      batchSize: c.job.batchSize,
      topicPrefix: c.job.topicPrefix,
    }),
    // Ingest again when the Source holds new records.
    fingerprint: async (ctx) => {
      const topics = ctx.config.topics ?? SIMULATED_TOPICS.map((t) => `${ctx.config.topicPrefix}${t}`);
      return (await held(ctx.port('source'), topics)).byPartition;
    },
    stillValid: async (ctx, out) => lakeHolds(ctx.port('lake-store'), out.lakeCommit),
    async run(ctx, inputs) {
      const source = ctx.port('source');
      const lake = ctx.port('lake-store');
      const wanted = (inputs['generate.topics'] as string[] | undefined) ?? ctx.config.topics ?? [];
      const topics: string[] = [];
      for (const t of wanted)
        if (
          await source.describeTopic(t).then(
            () => true,
            () => false,
          )
        )
          topics.push(t);
      const medallion = await createMedallion({
        lake,
        workdir: ctx.scratch,
        logger: ctx.logger,
        topicPrefix: ctx.config.topicPrefix,
      });
      try {
        const eventsIn = (await held(source, topics)).total;
        const result = await ingestToBronze({
          source,
          lake,
          medallion,
          topics,
          group: ctx.config.group,
          batchSize: ctx.config.batchSize,
          runId: ctx.runId,
          signal: ctx.signal,
          onProgress: (p) => ctx.progress(p.done, p.total, p.message),
        });
        return {
          lakeCommit: result.lakeCommit,
          eventsIn,
          consumed: result.consumed,
          batches: result.batches,
          bronzeRows: result.bronzeRows,
          offsets: Object.fromEntries(result.offsets.map((o) => [`${o.topic}/${o.partition}`, o.offset])),
        };
      } finally {
        await medallion.close();
      }
    },
  });

type SilverSlice = { topicPrefix: string; measures: unknown; signs: unknown; expectations: unknown };

/** silver: validated, normalised, deduplicated events (and quarantine), on a branch merged into main. */
export const silverStep = defineStep<AdverseEventsConfig, SilverSlice>({
  name: 'silver',
  version: 1,
  description:
    'Bronze → silver on a lake branch (expectations, units, dedupe, quarantine), merged atomically.',
  inputs: ['ingest.lakeCommit'],
  outputs: ['lakeCommit', 'counts'],
  requires: ['lake-store'],
  config: (c) => ({
    topicPrefix: c.job.topicPrefix,
    measures: c.job.data.measures ?? null,
    signs: c.job.data.signs ?? null,
    expectations: c.job.data.expectations ?? null,
  }),
  stillValid: async (ctx, out) => lakeHolds(ctx.port('lake-store'), out.lakeCommit),
  async run(ctx, inputs) {
    const lake = ctx.port('lake-store');
    const c = ctx.config;
    const catalog = buildCatalog({ measures: c.measures ?? undefined, signs: c.signs ?? undefined });
    const medallion = await createMedallion({
      lake,
      workdir: ctx.scratch,
      logger: ctx.logger,
      topicPrefix: c.topicPrefix,
      catalog,
      expectations: buildExpectationSuite(c.expectations ?? [], catalog),
      // The validation report (JSON and HTML) lives with the run.
      reportDir: join(ctx.workdir, 'runs', ctx.runId, 'validation'),
    });
    try {
      let counts: Awaited<ReturnType<typeof medallion.buildSilver>> | undefined;
      const lakeCommit = await onLakeBranch(
        lake,
        {
          name: 'silver',
          from: inputs['ingest.lakeCommit'] as string,
          message: 'silver: validated, normalised, deduplicated',
          runId: ctx.runId,
        },
        async (branch) => {
          counts = await medallion.buildSilver(branch);
        },
      );
      return { lakeCommit, counts };
    } finally {
      await medallion.close();
    }
  },
});

/** gold: patient-day features, outcomes and patients, on a branch merged into main. */
export const goldStep = defineStep<AdverseEventsConfig, null>({
  name: 'gold',
  version: 2,
  description:
    'Silver → gold tables (patient-day features, outcomes, patients) on a lake branch, merged atomically.',
  inputs: ['silver.lakeCommit'],
  outputs: ['lakeCommit', 'patientDays'],
  requires: ['lake-store'],
  stillValid: async (ctx, out) => lakeHolds(ctx.port('lake-store'), out.lakeCommit),
  async run(ctx, inputs) {
    const lake = ctx.port('lake-store');
    const medallion = await createMedallion({ lake, workdir: ctx.scratch, logger: ctx.logger });
    try {
      let patientDays = 0;
      const lakeCommit = await onLakeBranch(
        lake,
        {
          name: 'gold',
          from: inputs['silver.lakeCommit'] as string,
          message: 'gold: patient-day features, outcomes, patients',
          runId: ctx.runId,
        },
        async (branch) => {
          patientDays = (await medallion.buildGold(branch)).patientDays;
        },
      );
      return { lakeCommit, patientDays };
    } finally {
      await medallion.close();
    }
  },
});
