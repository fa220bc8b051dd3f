import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auroc } from '@vigil/core';
import type { JobConfig } from '../config.js';
import { adverseEventViews, featureRefs } from '../features/views.js';
import { createMedallion } from '../medallion/index.js';
import { simulateTrial } from '../simulator/index.js';
import { readGoldTables } from './gold-tables.js';
import { drainToBronze, produceEvents } from './ingest.js';
import { checkAborted, type JobRuntime, type ProgressListener, type Stage } from './runtime.js';
import { matrixRequest, replayOverHttp } from './serve.js';
import { buildTrainingSet, denseMatrix, labelEntities, splitPatients, subset } from './training-set.js';

/** Identity of a simulated trial: the same seed and trial options give the same events. */
function trialKey(seed: number, job: JobConfig): string {
  return createHash('sha256')
    .update(JSON.stringify({ seed, trial: job.trial, horizonDays: job.horizonDays }))
    .digest('hex')
    .slice(0, 16);
}

export interface JobSummary {
  runId: string;
  preset?: string;
  /** Events of the simulated trial, all in the source. */
  events: number;
  /** Events this run sent to the source (0 when the trial was already there). */
  produced: number;
  layers: {
    bronze: number;
    silver: number;
    duplicates: number;
    quarantined: number;
    goldPatientDays: number;
  };
  quarantineReasons: Record<string, number>;
  /** events in = bronze = silver + duplicates + quarantined, overall and per site. */
  reconciliation: {
    in: number;
    bronze: number;
    silver: number;
    duplicates: number;
    quarantined: number;
    balanced: boolean;
    bySite: Record<
      string,
      { bronze: number; silver: number; duplicates: number; quarantined: number; balanced: boolean }
    >;
  };
  model: {
    name: string;
    version: string;
    alias: string | null;
    sha256: string;
    auroc: number;
    bayesAuroc: number;
    trainRows: number;
    testRows: number;
    testPatients: number;
  };
  latencyMs: { p50: number; p99: number };
  monitor: { predictions: number; labelled: number; auroc: number | null };
  online: { patients: number; scored: number };
  lakeCommit: string;
  trainingRunId: string;
  workdir: string;
  durationMs: number;
}

/**
 * The main job, end to end on whatever adapters fill the ports:
 * generate → ingest (Source → bronze) → silver → gold → features → train →
 * register → serve (OIP over HTTP) → monitor. All lake writes go to a run branch that
 * is merged into main only when the data stages succeed; a failure leaves main untouched.
 */
export async function runAdverseEventJob(
  rt: JobRuntime,
  job: JobConfig,
  onProgress: ProgressListener = () => {},
): Promise<JobSummary> {
  const began = performance.now();
  const seed = rt.config.seed;
  const lake = rt.port('lake-store');
  const source = rt.port('source');
  const features = rt.port('feature-store');
  const trainer = rt.port('trainer');
  const registry = rt.port('registry');
  const server = rt.port('server');
  const monitor = rt.port('monitor');
  const stageStart = new Map<Stage, number>();
  const begin = (stage: Stage) => {
    checkAborted(rt.signal);
    stageStart.set(stage, performance.now());
    onProgress({ stage, done: 0, total: 0 });
  };
  const end = async (stage: Stage, outputs: Record<string, string | number>) => {
    const durationMs = performance.now() - (stageStart.get(stage) ?? performance.now());
    rt.logger.info({ stage, durationMs: Math.round(durationMs), ...outputs }, 'stage done');
    await rt.emit('stageEnd', { stage, durationMs, outputs });
  };

  // 1. generate
  begin('generate');
  const trialStart = new Date(job.trial.start);
  const sim = simulateTrial({
    seed,
    patients: job.trial.patients,
    days: job.trial.days,
    sites: job.trial.sites,
    start: trialStart,
  });
  const prefix = job.topicPrefix;
  const events = prefix ? sim.events.map((e) => ({ ...e, topic: `${prefix}${e.topic}` })) : sim.events;
  const { produced, topics, reused } = await produceEvents(source, events, {
    partitions: Math.max(1, job.trial.sites),
    signal: rt.signal,
    onProgress,
    marker: join(rt.workdir, 'generated', `${trialKey(seed, job)}.json`),
  });
  rt.lineage.record(
    'generate',
    { seed: String(seed) },
    { events: String(sim.events.length), produced: String(produced), bayesAuroc: sim.bayesAuroc.toFixed(4) },
  );
  await end('generate', {
    events: sim.events.length,
    produced,
    reused: reused ? 'yes' : 'no',
    bayesAuroc: Number(sim.bayesAuroc.toFixed(4)),
  });

  // 2. ingest: each batch lands in bronze on the default branch (raw, append-only) and is
  // committed there before the consumer offsets are: a crash redelivers, never loses.
  begin('ingest');
  const medallion = await createMedallion({
    lake,
    workdir: join(rt.workdir, 'tmp', rt.runId),
    logger: rt.logger,
    topicPrefix: prefix,
  });
  // A lake without branching (plain S3) transforms on its default branch: a failed run can then
  // leave partial silver/gold there, which is exactly what a branching lake (lakeFS) prevents.
  const branching = lake.capabilities.branching;
  const branch = branching ? `job-${rt.runId}` : lake.defaultBranch;
  let merged = !branching;
  try {
    let bronzeRows = 0;
    const drained = await drainToBronze(source, {
      topics,
      group: job.consumerGroup,
      batchSize: job.batchSize,
      signal: rt.signal,
      onProgress,
      writeBatch: async (records) => {
        const written = await medallion.writeBronze(lake.defaultBranch, records);
        bronzeRows += written.rows;
        // A fully re-delivered batch stages nothing; the commit still marks the batch as held.
        await lake.commit(lake.defaultBranch, `bronze: ${records.length} records`, {
          metadata: { runId: rt.runId },
          allowEmpty: true,
        });
      },
    });
    const mainBefore = await lake.resolve(lake.defaultBranch);
    rt.lineage.record(
      'ingest',
      Object.fromEntries(drained.offsets.map((o) => [`${o.topic}/${o.partition}`, o.offset])),
      { lakeCommit: mainBefore, bronzeRows: String(bronzeRows) },
    );
    await end('ingest', { consumed: drained.consumed, batches: drained.batches, bronzeRows });

    // Transforms work on a run branch, merged into main atomically only when they succeed.
    if (branching) await lake.createBranch(branch, lake.defaultBranch);

    // 3. silver
    begin('silver');
    const silver = await medallion.buildSilver(branch);
    await lake.commit(branch, 'silver: validated, normalised, deduplicated', {
      metadata: { runId: rt.runId },
      allowEmpty: true,
    });
    await end('silver', {
      silver: silver.silver,
      duplicates: silver.duplicates,
      quarantined: silver.quarantined,
    });

    // 4. gold, then merge the run branch into main atomically
    begin('gold');
    const gold = await medallion.buildGold(branch);
    const goldCommit = await lake.commit(branch, 'gold: patient-day features, outcomes, patients', {
      metadata: { runId: rt.runId },
      allowEmpty: true,
    });
    const lakeCommit = branching
      ? (await lake.merge(branch, lake.defaultBranch, { message: `run ${rt.runId}` })).id
      : goldCommit.id;
    merged = true;
    if (branching) await lake.deleteBranch(branch);
    rt.lineage.record(
      'medallion',
      { from: mainBefore },
      { lakeCommit, silver: String(silver.silver), gold: String(gold.patientDays) },
    );
    await end('gold', { patientDays: gold.patientDays, lakeCommit });

    // 5. features: point-in-time training set pinned to the lake commit
    begin('features');
    const views = adverseEventViews();
    await features.apply(views);
    const refs = featureRefs(views);
    const tables = await readGoldTables(lake, lakeCommit, join(rt.workdir, 'tmp', rt.runId));
    const entities = labelEntities({
      patients: tables.patients,
      outcomes: tables.outcomes,
      trialStart,
      days: job.trial.days,
      horizonDays: job.horizonDays,
      minGrade: job.minGrade,
    });
    const dataset = await buildTrainingSet({ store: features, entities, features: refs, ref: lakeCommit });
    const [testIds, validationIds, trainIds] = splitPatients(
      tables.patients.map((p) => p.patientId),
      [job.testFraction, 0.15],
      seed,
    ) as [string[], string[], string[]];
    const train = subset(dataset, new Set(trainIds));
    const validation = subset(dataset, new Set(validationIds));
    const test = subset(dataset, new Set(testIds));
    const testSet = new Set(testIds);
    const atByRow = entities.filter((e) => testSet.has(e.patientId)).map((e) => e.at);
    rt.lineage.record(
      'features',
      { lakeCommit, views: views.map((v) => `${v.name}@${v.version}`).join(',') },
      { rows: String(dataset.y.length) },
    );
    await end('features', {
      rows: dataset.y.length,
      positives: dataset.y.reduce((a, b) => a + b, 0),
      features: refs.length,
    });

    // 6. train on training patients, early-stop on validation patients, test on held-out patients
    begin('train');
    const result = await trainer.train(
      train,
      { algorithm: job.model.algorithm, params: job.model.params, seed },
      {
        validation,
        signal: rt.signal,
        onProgress: (p) =>
          onProgress({
            stage: 'train',
            done: Math.round(p.fraction * 1000),
            total: 1000,
            message: p.message,
          }),
      },
    );
    const testScores = await trainer.predict(result.artifact, test.x, test.y.length);
    const testAuroc = auroc(testScores, test.y) ?? Number.NaN;
    await end('train', { testAuroc: Number(testAuroc.toFixed(4)), ...result.metrics });

    // 7. register: run with params, metrics, artifacts and lineage; gated champion alias
    begin('register');
    const run = await registry.createRun({
      experiment: job.model.experiment,
      name: `train-${rt.runId.slice(0, 8)}`,
      tags: { 'vigil.runId': rt.runId, 'vigil.lakeCommit': lakeCommit },
    });
    await registry.logParams(run.runId, {
      algorithm: job.model.algorithm,
      seed,
      ...result.params,
      lakeCommit,
      featureViews: views.map((v) => `${v.name}@${v.version}`).join(','),
    });
    await registry.logMetrics(run.runId, [
      ...Object.entries(result.metrics).map(([key, value]) => ({ key, value })),
      { key: 'test_auroc', value: testAuroc },
      { key: 'bayes_auroc', value: sim.bayesAuroc },
    ]);
    await registry.logArtifact(run.runId, 'model/model.onnx', result.artifact.bytes);
    await registry.logArtifact(
      run.runId,
      'model/features.json',
      new TextEncoder().encode(JSON.stringify(result.artifact.featureNames)),
    );
    await registry.endRun(run.runId, 'FINISHED');
    await registry.createRegisteredModel(job.model.name, {
      description: 'Adverse event (grade ≥ 2) within the horizon, per patient-day.',
    });
    const version = await registry.createModelVersion({
      name: job.model.name,
      runId: run.runId,
      source: 'model/model.onnx',
      tags: { sha256: result.artifact.sha256, lakeCommit },
    });
    const gatePassed = testAuroc >= job.model.minAuroc;
    if (gatePassed) await registry.setAlias(job.model.name, 'champion', version.version);
    rt.lineage.record(
      'register',
      { trainingRun: run.runId, lakeCommit },
      { model: `${job.model.name}/${version.version}`, sha256: result.artifact.sha256 },
    );
    await end('register', { version: version.version, champion: gatePassed ? 'yes' : 'no' });

    // 8. serve: load, route, answer OIP over HTTP
    begin('serve');
    await server.load({ name: job.model.name, version: version.version, artifact: result.artifact });
    await server.route(job.model.name, { candidates: [{ version: version.version, weight: 100 }] });
    const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
    const replay = await replayOverHttp({
      url,
      model: job.model.name,
      set: test,
      at: atByRow,
      requests: job.serve.requests,
      horizonDays: job.horizonDays,
      runId: rt.runId,
      monitor,
      signal: rt.signal,
      onProgress,
    });
    // Online path: materialise the latest features and score every held-out patient now.
    const trialEnd = new Date(trialStart.getTime() + job.trial.days * 86_400_000);
    await features.materialize({ end: trialEnd, ref: lakeCommit });
    const online = await features.getOnlineFeatures({
      features: refs,
      entityRows: testIds.map((id) => ({ patient_id: id })),
      fullFeatureNames: true,
    });
    const d = result.artifact.featureNames.length;
    const x = denseMatrix(online.rows, result.artifact.featureNames);
    let scored = 0;
    if (online.rows.length > 0) {
      const answer = await server.infer(job.model.name, matrixRequest(x, d, 0, online.rows.length));
      scored = answer.outputs.find((o) => o.name === 'probabilities')!.shape[0] ?? 0;
    }
    rt.lineage.record(
      'serve',
      { model: `${job.model.name}/${version.version}` },
      { url, requests: String(replay.requests) },
    );
    await end('serve', {
      requests: replay.requests,
      p50: Number(replay.p50.toFixed(3)),
      p99: Number(replay.p99.toFixed(3)),
      onlineScored: scored,
    });

    // 9. monitor
    begin('monitor');
    const evaluation = await monitor.evaluate({ model: job.model.name, version: version.version });
    await end('monitor', { predictions: evaluation.predictions, auroc: evaluation.auroc ?? Number.NaN });

    const summary: JobSummary = {
      runId: rt.runId,
      events: sim.events.length,
      produced,
      layers: {
        bronze: silver.bronze,
        silver: silver.silver,
        duplicates: silver.duplicates,
        quarantined: silver.quarantined,
        goldPatientDays: gold.patientDays,
      },
      quarantineReasons: silver.reasons,
      reconciliation: {
        in: sim.events.length,
        bronze: silver.bronze,
        silver: silver.silver,
        duplicates: silver.duplicates,
        quarantined: silver.quarantined,
        balanced:
          sim.events.length === silver.bronze &&
          silver.bronze === silver.silver + silver.duplicates + silver.quarantined,
        bySite: Object.fromEntries(
          Object.entries(silver.bySite).map(([site, c]) => [
            site,
            { ...c, balanced: c.bronze === c.silver + c.duplicates + c.quarantined },
          ]),
        ),
      },
      model: {
        name: job.model.name,
        version: version.version,
        alias: gatePassed ? 'champion' : null,
        sha256: result.artifact.sha256,
        auroc: testAuroc,
        bayesAuroc: sim.bayesAuroc,
        trainRows: train.y.length,
        testRows: test.y.length,
        testPatients: testIds.length,
      },
      latencyMs: { p50: replay.p50, p99: replay.p99 },
      monitor: {
        predictions: evaluation.predictions,
        labelled: evaluation.labelled,
        auroc: evaluation.auroc,
      },
      online: { patients: testIds.length, scored },
      lakeCommit,
      trainingRunId: run.runId,
      workdir: rt.workdir,
      durationMs: performance.now() - began,
    };
    const runDir = join(rt.workdir, 'runs', rt.runId);
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'lineage.json'), JSON.stringify(rt.lineage.snapshot(), null, 2));
    await writeFile(join(runDir, 'summary.json'), JSON.stringify(summary, null, 2));
    return summary;
  } finally {
    await medallion.close();
    if (!merged) await lake.deleteBranch(branch).catch(() => undefined);
  }
}
