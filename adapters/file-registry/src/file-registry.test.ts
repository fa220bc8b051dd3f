import { execFile } from 'node:child_process';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isVigilError, type Registry } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileRegistry } from './file-registry-adapter.js';

const run = promisify(execFile);

let ctx: TestContext;
const opened: Registry[] = [];

async function open(config: Record<string, unknown> = {}): Promise<Registry> {
  const registry = await fileRegistry.create(fileRegistry.config.parse(config), ctx);
  opened.push(registry);
  return registry;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isVigilError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  ctx = await createTestContext();
});

afterEach(async () => {
  for (const registry of opened.splice(0)) await registry.close();
  await ctx.cleanup();
});

describe('file registry', () => {
  it('keeps a human-readable mlruns-like layout under <workdir>/<dir>', async () => {
    const registry = await open({ dir: 'reg' });
    const r = await registry.createRun({ experiment: 'adverse-events' });
    await registry.logParams(r.runId, { depth: 3 });
    await registry.logMetrics(r.runId, [{ key: 'train/loss', value: 0.3, step: 1 }]);
    await registry.logArtifact(r.runId, 'model/model.onnx', Uint8Array.of(1, 2));
    await registry.createModelVersion({ name: 'ae', runId: r.runId, source: 'model' });
    await registry.setAlias('ae', 'champion', '1');

    const runDir = join(ctx.workdir, 'reg', 'experiments', 'adverse-events', 'runs', r.runId);
    expect((await readdir(runDir)).sort()).toEqual([
      'artifacts',
      'meta.json',
      'metrics',
      'params.json',
      'tags.json',
    ]);
    expect(JSON.parse(await readFile(join(runDir, 'params.json'), 'utf8'))).toEqual({ depth: '3' });
    const metricLines = (await readFile(join(runDir, 'metrics', 'train%2Floss.ndjson'), 'utf8'))
      .trim()
      .split('\n');
    expect(metricLines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ value: 0.3, step: 1 })]);
    expect([...(await readFile(join(runDir, 'artifacts', 'model', 'model.onnx')))]).toEqual([1, 2]);
    const modelDir = join(ctx.workdir, 'reg', 'models', 'ae');
    expect(JSON.parse(await readFile(join(modelDir, 'aliases.json'), 'utf8'))).toEqual({ champion: '1' });
    expect(JSON.parse(await readFile(join(modelDir, 'versions', '1.json'), 'utf8'))).toMatchObject({
      version: '1',
      runId: r.runId,
    });
    // no temporary or lock files are left behind
    expect((await readdir(modelDir)).sort()).toEqual(['aliases.json', 'meta.json', 'versions']);
  });

  it('round-trips names with slashes, dots and spaces', async () => {
    const registry = await open();
    const r = await registry.createRun({ experiment: '/Users/ana/trial 7' });
    expect((await registry.searchRuns({ experiment: '/Users/ana/trial 7' })).map((x) => x.runId)).toEqual([
      r.runId,
    ]);
    await registry.logMetrics(r.runId, [{ key: '..', value: 1 }]);
    expect((await registry.getRun(r.runId)).metrics).toEqual({ '..': 1 });
    const v = await registry.createModelVersion({ name: '../ae.v1', runId: r.runId, source: 's' });
    expect((await registry.getModelVersion('../ae.v1', v.version)).name).toBe('../ae.v1');
  });

  it('names the param, path, alias and missing thing in its errors', async () => {
    const registry = await open();
    const r = await registry.createRun({ experiment: 'e' });
    await registry.logParams(r.runId, { lr: 0.1 });
    const param = await codeOf(registry.logParams(r.runId, { lr: 0.2 }));
    expect(param.code).toBe('VIGIL_REGISTRY_INVALID_REQUEST');
    expect(param.message).toContain("'lr'");
    for (const path of ['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a//b', './a', 'a\\b', '']) {
      const error = await codeOf(registry.logArtifact(r.runId, path, Uint8Array.of(1)));
      expect(error.code, path).toBe('VIGIL_REGISTRY_INVALID_REQUEST');
      expect(error.message, path).toContain(`artifact path ${JSON.stringify(path)}`);
    }
    await registry.createModelVersion({ name: 'ae', runId: r.runId, source: 's' });
    for (const alias of ['latest', 'v1', 'V2', 'has space', '']) {
      expect((await codeOf(registry.setAlias('ae', alias, '1'))).code, alias).toBe(
        'VIGIL_REGISTRY_INVALID_REQUEST',
      );
    }
    expect((await codeOf(registry.getModelVersion('ae', '2'))).message).toContain('version "2"');
    expect((await codeOf(registry.getModelVersion('nope', '1'))).message).toContain(
      "registered model 'nope'",
    );
    expect((await codeOf(registry.getArtifact(r.runId, 'missing/x'))).message).toContain('"missing/x"');
    expect((await codeOf(registry.getRun('not-a-run-id'))).code).toBe('VIGIL_REGISTRY_NOT_FOUND');
    expect(
      (await codeOf(registry.createModelVersion({ name: 'ae', runId: 'f'.repeat(32), source: 's' }))).message,
    ).toContain('f'.repeat(32));
    // an unknown model is reported, and no folder is made for it
    expect((await codeOf(registry.setAlias('ghost', 'champion', '1'))).code).toBe('VIGIL_REGISTRY_NOT_FOUND');
    expect(await readdir(join(ctx.workdir, 'registry', 'models'))).toEqual(['ae']);
  });

  it('refuses use after close and config that leaves the workdir', async () => {
    const registry = await open();
    await registry.close();
    expect((await codeOf(registry.createRun({ experiment: 'e' }))).code).toBe('VIGIL_KERNEL_CLOSED');
    expect(fileRegistry.config.safeParse({ dir: '../elsewhere' }).success).toBe(false);
    expect(fileRegistry.config.safeParse({ dir: '/abs' }).success).toBe(false);
    expect(fileRegistry.config.safeParse({ dri: 'x' }).success).toBe(false);
  });

  it('skips a metric line torn by a crash and keeps appending after it', async () => {
    const registry = await open();
    const r = await registry.createRun({ experiment: 'e' });
    await registry.logMetrics(r.runId, [{ key: 'loss', value: 1, step: 0 }]);
    const file = join(ctx.workdir, 'registry', 'experiments', 'e', 'runs', r.runId, 'metrics', 'loss.ndjson');
    await appendFile(file, '{"value":0.5,"st');
    await appendFile(file, '\n');
    await registry.logMetrics(r.runId, [{ key: 'loss', value: 0.2, step: 1 }]);
    expect((await registry.getMetricHistory(r.runId, 'loss')).map((p) => p.value)).toEqual([1, 0.2]);
  });

  it('keeps NaN and infinite metric values', async () => {
    const registry = await open();
    const r = await registry.createRun({ experiment: 'e' });
    await registry.logMetrics(r.runId, [
      { key: 'm', value: Number.NaN, step: 0 },
      { key: 'm', value: Number.POSITIVE_INFINITY, step: 1 },
    ]);
    const values = (await registry.getMetricHistory(r.runId, 'm')).map((p) => p.value);
    expect(values[0]).toBeNaN();
    expect(values[1]).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives two instances over one folder distinct sequential versions (lock file)', async () => {
    const first = await open();
    const second = await open();
    const r = await first.createRun({ experiment: 'e' });
    const made = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? first : second).createModelVersion({ name: 'ae', runId: r.runId, source: `s${i}` }),
      ),
    );
    expect(made.map((v) => Number(v.version)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
  });

  it('gives separate processes distinct sequential versions', async () => {
    const registry = await open();
    const r = await registry.createRun({ experiment: 'e' });
    await registry.createRegisteredModel('ae');
    const module = fileURLToPath(new URL('./file-registry.ts', import.meta.url));
    const script = join(ctx.workdir, 'child.mts');
    await writeFile(
      script,
      [
        `import { FileRegistry } from ${JSON.stringify(module)};`,
        'const [root, runId, count] = process.argv.slice(2);',
        'const r = new FileRegistry({ root, capabilities: { artifacts: true, runFilters: false }, lockTimeoutMs: 15000 });',
        "const made = await Promise.all(Array.from({ length: Number(count) }, () => r.createModelVersion({ name: 'ae', runId, source: 'child' })));",
        'console.log(JSON.stringify(made.map((v) => v.version)));',
      ].join('\n'),
    );
    const root = join(ctx.workdir, 'registry');
    const child = () =>
      run(process.execPath, ['--conditions=@vigil/source', '--import', 'tsx', script, root, r.runId, '8'], {
        cwd: process.cwd(),
      });
    const [a, b] = await Promise.all([child(), child()]);
    const versions = [...JSON.parse(a.stdout), ...JSON.parse(b.stdout)].map(Number).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(
      (await registry.createModelVersion({ name: 'ae', runId: r.runId, source: 'parent' })).version,
    ).toBe('17');
  });
});
