/**
 * Contract suite for the Registry port (MLflow semantics). Every registry adapter runs
 * it: the embedded file registry and the MLflow one alike.
 */
import assert from 'node:assert/strict';
import { isVigilError } from '../errors.js';
import type { Registry } from '../ports/registry.js';
import { type Contract, type ContractFixture, skipCase } from './contract.js';

export interface RegistryFixture extends ContractFixture<Registry> {
  /**
   * A new Registry over the same storage, as after a process restart (the case closes
   * `impl` first). `cleanup` must also close what this returned. Without it the
   * durability case has nothing to check and passes.
   */
  reopen?: () => Promise<Registry>;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isVigilError(error), `${what}: expected a VigilError, got ${String(error)}`);
    assert.equal(error.code, code, `${what}: error code`);
    return true;
  });
}

/** A unique experiment or model name per case, so adapters over shared servers do not collide. */
function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(performance.now() * 1000).toString(36)}`;
}

export const registryContract: Contract<RegistryFixture> = {
  port: 'registry',
  cases: [
    {
      name: 'run lifecycle: create, tag, end',
      async run({ impl }) {
        const experiment = unique('lifecycle');
        const run = await impl.createRun({ experiment, name: 'first', tags: { team: 'safety' } });
        assert.match(run.runId, /^[0-9a-f]{32}$/, 'run ids are 32 lowercase hex characters');
        assert.equal(run.experiment, experiment);
        assert.equal(run.name, 'first');
        assert.equal(run.status, 'RUNNING');
        assert.equal(run.endTime, undefined);
        assert.deepEqual(run.tags, { team: 'safety' });
        assert.deepEqual(run.params, {});
        assert.deepEqual(run.metrics, {});
        await impl.setRunTag(run.runId, 'stage', 'train');
        await impl.endRun(run.runId, 'FAILED');
        const ended = await impl.getRun(run.runId);
        assert.equal(ended.status, 'FAILED');
        assert.equal(typeof ended.endTime, 'number');
        assert.ok(ended.endTime! >= ended.startTime, 'endTime is not before startTime');
        assert.deepEqual(ended.tags, { team: 'safety', stage: 'train' });
        const other = await impl.createRun({ experiment });
        assert.notEqual(other.runId, run.runId);
        await impl.endRun(other.runId);
        assert.equal((await impl.getRun(other.runId)).status, 'FINISHED', 'endRun defaults to FINISHED');
      },
    },
    {
      name: 'params are write-once',
      async run({ impl }) {
        const run = await impl.createRun({ experiment: unique('params') });
        await impl.logParams(run.runId, { learningRate: 0.1, depth: 3, balanced: true, loss: 'logloss' });
        assert.deepEqual((await impl.getRun(run.runId)).params, {
          learningRate: '0.1',
          depth: '3',
          balanced: 'true',
          loss: 'logloss',
        });
        await impl.logParams(run.runId, { depth: 3, seed: '7' });
        await assert.rejects(
          impl.logParams(run.runId, { learningRate: 0.2 }),
          (error: unknown) => error instanceof Error && error.message.includes('learningRate'),
          'changing a param throws an error naming the key',
        );
        const params = (await impl.getRun(run.runId)).params;
        assert.equal(params.learningRate, '0.1', 'the first value is kept');
        assert.equal(params.seed, '7');
      },
    },
    {
      name: 'metric history is kept in step order; the run shows the latest value',
      async run({ impl }) {
        const run = await impl.createRun({ experiment: unique('metrics') });
        await impl.logMetrics(run.runId, [
          { key: 'loss', value: 0.5, step: 2, timestamp: 1_000 },
          { key: 'loss', value: 0.9, step: 0, timestamp: 1_000 },
          { key: 'auroc', value: 0.71, step: 0, timestamp: 1_000 },
        ]);
        await impl.logMetrics(run.runId, [
          { key: 'loss', value: 0.7, step: 1, timestamp: 2_000 },
          { key: 'loss', value: 0.4, step: 3, timestamp: 500 },
        ]);
        const history = await impl.getMetricHistory(run.runId, 'loss');
        assert.deepEqual(
          history.map((p) => [p.step, p.value, p.timestamp]),
          [
            [0, 0.9, 1_000],
            [1, 0.7, 2_000],
            [2, 0.5, 1_000],
            [3, 0.4, 500],
          ],
        );
        assert.ok(
          history.every((p) => p.key === 'loss'),
          'points carry their key',
        );
        assert.deepEqual(await impl.getMetricHistory(run.runId, 'never-logged'), []);
        const { metrics } = await impl.getRun(run.runId);
        assert.deepEqual(metrics, { loss: 0.4, auroc: 0.71 });
      },
    },
    {
      name: 'artifacts round-trip binary data',
      requires: ['artifacts'],
      async run({ impl }) {
        const run = await impl.createRun({ experiment: unique('artifacts') });
        const bytes = Uint8Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256);
        await impl.logArtifact(run.runId, 'model/model.onnx', bytes);
        await impl.logArtifact(run.runId, 'report.json', new TextEncoder().encode('{"auroc":0.8}'));
        const back = await impl.getArtifact(run.runId, 'model/model.onnx');
        assert.ok(back instanceof Uint8Array, 'artifact comes back as a Uint8Array');
        assert.deepEqual(Array.from(back), Array.from(bytes), 'every byte comes back unchanged');
        assert.equal(
          new TextDecoder().decode(await impl.getArtifact(run.runId, 'report.json')),
          '{"auroc":0.8}',
        );
        await impl.logArtifact(run.runId, 'report.json', Uint8Array.of(0, 255, 0));
        assert.deepEqual(Array.from(await impl.getArtifact(run.runId, 'report.json')), [0, 255, 0]);
        await rejectsWithCode(
          impl.getArtifact(run.runId, 'model/missing.bin'),
          'VIGIL_REGISTRY_NOT_FOUND',
          'missing artifact',
        );
        await assert.rejects(
          impl.logArtifact(run.runId, '../escape.bin', bytes),
          'a path leaving the run is refused',
        );
      },
    },
    {
      name: 'unknown runs, models, versions and aliases fail with VIGIL_REGISTRY_NOT_FOUND',
      async run({ impl }) {
        const ghost = '0123456789abcdef0123456789abcdef';
        await rejectsWithCode(impl.getRun(ghost), 'VIGIL_REGISTRY_NOT_FOUND', 'getRun');
        await rejectsWithCode(impl.logParams(ghost, { a: 1 }), 'VIGIL_REGISTRY_NOT_FOUND', 'logParams');
        await rejectsWithCode(
          impl.logMetrics(ghost, [{ key: 'a', value: 1 }]),
          'VIGIL_REGISTRY_NOT_FOUND',
          'logMetrics',
        );
        await rejectsWithCode(impl.endRun(ghost), 'VIGIL_REGISTRY_NOT_FOUND', 'endRun');
        const model = unique('ghost-model');
        await rejectsWithCode(
          impl.getRegisteredModel(model),
          'VIGIL_REGISTRY_NOT_FOUND',
          'getRegisteredModel',
        );
        await impl.createRegisteredModel(model);
        await rejectsWithCode(
          impl.getModelVersion(model, '1'),
          'VIGIL_REGISTRY_NOT_FOUND',
          'getModelVersion',
        );
        await rejectsWithCode(
          impl.getVersionByAlias(model, 'champion'),
          'VIGIL_REGISTRY_NOT_FOUND',
          'getVersionByAlias',
        );
        await rejectsWithCode(impl.setAlias(model, 'champion', '7'), 'VIGIL_REGISTRY_NOT_FOUND', 'setAlias');
      },
    },
    {
      name: 'searchRuns lists an experiment newest first',
      async run({ impl }) {
        const experiment = unique('search');
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          ids.push((await impl.createRun({ experiment, name: `r${i}` })).runId);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await impl.createRun({ experiment: unique('elsewhere') });
        const runs = await impl.searchRuns({ experiment });
        assert.deepEqual(
          runs.map((r) => r.runId),
          [...ids].reverse(),
        );
        const top = await impl.searchRuns({ experiment, maxResults: 2 });
        assert.deepEqual(
          top.map((r) => r.runId),
          [ids[2], ids[1]],
        );
      },
    },
    {
      name: 'registered models: create is idempotent; versions are sequential per model',
      async run({ impl }) {
        const run = await impl.createRun({ experiment: unique('versions') });
        const a = unique('model-a');
        const b = unique('model-b');
        const created = await impl.createRegisteredModel(a, {
          description: 'adverse events',
          tags: { t: '1' },
        });
        assert.equal(created.name, a);
        assert.equal(created.latestVersion, undefined);
        const again = await impl.createRegisteredModel(a);
        assert.equal(again.name, a);
        assert.equal(again.createdAt, created.createdAt, 'creating again returns the existing model');
        await impl.createRegisteredModel(b);
        const versions: string[] = [];
        for (let i = 0; i < 3; i++) {
          const v = await impl.createModelVersion({ name: a, runId: run.runId, source: `model-${i}` });
          versions.push(v.version);
        }
        assert.deepEqual(versions, ['1', '2', '3']);
        const first = await impl.createModelVersion({
          name: b,
          runId: run.runId,
          source: 'model',
          tags: { framework: 'onnx' },
          description: 'gbt',
        });
        assert.equal(first.version, '1', 'each model counts its own versions');
        assert.deepEqual(first.tags, { framework: 'onnx' });
        const v2 = await impl.getModelVersion(a, '2');
        assert.equal(v2.runId, run.runId);
        assert.equal(v2.source, 'model-1');
        assert.deepEqual(v2.aliases, []);
        await impl.setModelVersionTag(a, '2', 'validated', 'yes');
        assert.deepEqual((await impl.getModelVersion(a, '2')).tags, { validated: 'yes' });
        assert.equal((await impl.getRegisteredModel(a)).latestVersion, '3');
        const listed = await impl.searchModelVersions(a);
        assert.deepEqual(listed.map((v) => v.version).sort(), ['1', '2', '3']);
      },
    },
    {
      name: 'aliases can be set, moved, read and deleted',
      async run({ impl }) {
        const run = await impl.createRun({ experiment: unique('aliases') });
        const model = unique('aliased');
        await impl.createRegisteredModel(model);
        for (let i = 0; i < 3; i++)
          await impl.createModelVersion({ name: model, runId: run.runId, source: 'm' });
        await impl.setAlias(model, 'champion', '1');
        await impl.setAlias(model, 'challenger', '2');
        assert.equal((await impl.getVersionByAlias(model, 'champion')).version, '1');
        assert.deepEqual((await impl.getModelVersion(model, '1')).aliases, ['champion']);

        await impl.setAlias(model, 'champion', '3');
        const champion = await impl.getVersionByAlias(model, 'champion');
        assert.equal(champion.version, '3', 'setting an alias moves it');
        assert.deepEqual(champion.aliases, ['champion']);
        assert.deepEqual((await impl.getModelVersion(model, '1')).aliases, [], 'the old version loses it');
        assert.deepEqual((await impl.getRegisteredModel(model)).aliases, { champion: '3', challenger: '2' });

        await impl.deleteAlias(model, 'champion');
        await rejectsWithCode(
          impl.getVersionByAlias(model, 'champion'),
          'VIGIL_REGISTRY_NOT_FOUND',
          'deleted alias',
        );
        assert.deepEqual((await impl.getModelVersion(model, '3')).aliases, []);
        assert.equal((await impl.getVersionByAlias(model, 'challenger')).version, '2');
        assert.deepEqual((await impl.getRegisteredModel(model)).aliases, { challenger: '2' });
      },
    },
    {
      name: 'concurrent createModelVersion calls get distinct sequential versions',
      async run({ impl }) {
        const run = await impl.createRun({ experiment: unique('concurrent') });
        const model = unique('contended');
        await impl.createRegisteredModel(model);
        const created = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            impl.createModelVersion({ name: model, runId: run.runId, source: `s${i}` }),
          ),
        );
        const numbers = created.map((v) => Number(v.version)).sort((x, y) => x - y);
        assert.deepEqual(
          numbers,
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        const sources = new Map(created.map((v) => [v.version, v.source]));
        for (const version of await impl.searchModelVersions(model)) {
          assert.equal(
            version.source,
            sources.get(version.version),
            `version ${version.version} kept its source`,
          );
        }
        assert.equal((await impl.searchModelVersions(model)).length, 20);
      },
    },
    {
      name: 'everything survives a reopen, and version numbers continue',
      async run({ impl, reopen }) {
        if (!reopen) skipCase('the fixture provides no reopen() (no durable state)');
        const experiment = unique('durable');
        const model = unique('durable-model');
        const run = await impl.createRun({ experiment, tags: { k: 'v' } });
        await impl.logParams(run.runId, { depth: 4 });
        await impl.logMetrics(run.runId, [
          { key: 'auroc', value: 0.8, step: 0 },
          { key: 'auroc', value: 0.85, step: 1 },
        ]);
        if (impl.capabilities.artifacts) await impl.logArtifact(run.runId, 'a/b.bin', Uint8Array.of(1, 2, 3));
        await impl.endRun(run.runId);
        await impl.createModelVersion({ name: model, runId: run.runId, source: 'a' });
        await impl.createModelVersion({ name: model, runId: run.runId, source: 'a' });
        await impl.setAlias(model, 'champion', '2');
        const before = await impl.getRun(run.runId);
        await impl.close();

        const again = await reopen();
        assert.deepEqual(await again.getRun(run.runId), before);
        assert.deepEqual(
          (await again.getMetricHistory(run.runId, 'auroc')).map((p) => p.value),
          [0.8, 0.85],
        );
        if (again.capabilities.artifacts) {
          assert.deepEqual(Array.from(await again.getArtifact(run.runId, 'a/b.bin')), [1, 2, 3]);
        }
        assert.deepEqual(
          (await again.searchRuns({ experiment })).map((r) => r.runId),
          [run.runId],
        );
        assert.equal((await again.getVersionByAlias(model, 'champion')).version, '2');
        const next = await again.createModelVersion({ name: model, runId: run.runId, source: 'b' });
        assert.equal(next.version, '3', 'versions are never reused after a reopen');
      },
    },
  ],
};
