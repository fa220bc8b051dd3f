import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureRef, FeatureView } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ViewRegistry } from '../views/view-registry.js';
import { EmbeddedOnlineBackend } from './embedded-online-backend.js';
import type { OnlineBackend, OnlineEntry } from './online-backend.js';
import { OnlineFeatures } from './online-features.js';

const T = Date.UTC(2026, 0, 2) * 1000;

const view = (name: string, features: string[], version = 1): FeatureView => ({
  name,
  entities: ['patient_id'],
  features: features.map((f) => ({ name: f, dtype: 'float64' })),
  ttlSeconds: 0,
  source: { path: `lake/${name}`, timestampField: 'ts' },
  version,
});

/** The embedded backend, counting `read` and `readViews` calls. */
class Counting implements OnlineBackend {
  reads = 0;
  readViewsCalls = 0;
  constructor(readonly inner: EmbeddedOnlineBackend) {}
  write: OnlineBackend['write'] = (v, rows) => this.inner.write(v, rows);
  read: OnlineBackend['read'] = (v, entities, features) => {
    this.reads++;
    return this.inner.read(v, entities, features);
  };
  async readViews(
    reads: readonly { view: FeatureView; features: readonly number[] }[],
    entityRows: readonly Record<string, unknown>[],
  ): Promise<(OnlineEntry | null)[][]> {
    this.readViewsCalls++;
    return Promise.all(
      reads.map((r) =>
        this.inner.read(
          r.view,
          entityRows.map((row) => r.view.entities.map((k) => row[k])),
          r.features,
        ),
      ),
    );
  }
  clearView: OnlineBackend['clearView'] = (v) => this.inner.clearView(v);
  close: OnlineBackend['close'] = () => this.inner.close();
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function open() {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-online-features-'));
  dirs.push(dir);
  const registry = await ViewRegistry.open(join(dir, 'registry'));
  const backend = new Counting(await EmbeddedOnlineBackend.open(join(dir, 'online'), []));
  const { logger } = await createTestContext({ workdir: dir });
  return { online: new OnlineFeatures(registry, backend), backend, logger };
}

describe('online features', () => {
  it('reads several views in one readViews call; each view’s columns share one event time', async () => {
    const { online, backend, logger } = await open();
    await online.apply([view('labs', ['alt', 'ast']), view('vitals', ['hr'])], logger);
    await online.push('labs', [{ patient_id: 'P1', ts: new Date(T / 1000), alt: 40, ast: 30 }]);
    await online.push('vitals', [{ patient_id: 'P1', ts: new Date(T / 1000 + 60_000), hr: 80 }]);
    const got = await online.get({
      features: ['labs:alt', 'vitals:hr', 'labs:ast'],
      entityRows: [{ patient_id: 'P1' }, { patient_id: 'P9' }],
    });
    expect(backend.readViewsCalls).toBe(1);
    expect(backend.reads).toBe(0);
    expect(got.rows).toEqual([
      { patient_id: 'P1', labs__alt: 40, vitals__hr: 80, labs__ast: 30 },
      { patient_id: 'P9', labs__alt: null, vitals__hr: null, labs__ast: null },
    ]);
    const stamps = got.eventTimestamps!;
    expect(stamps[0]!.labs__alt!.getTime()).toBe(T / 1000);
    expect(stamps[0]!.vitals__hr!.getTime()).toBe(T / 1000 + 60_000);
    expect(stamps[0]!.labs__ast).toEqual(stamps[0]!.labs__alt);
    expect(stamps[1]).toEqual({ labs__alt: null, vitals__hr: null, labs__ast: null });
    await online.get({ features: ['labs:alt'], entityRows: [{ patient_id: 'P1' }] });
    expect(backend.readViewsCalls).toBe(2);
    expect(backend.reads).toBe(0);
  });

  it('a frozen feature list keeps its plan until the next apply, which re-resolves it', async () => {
    const { online, logger } = await open();
    await online.apply([view('labs', ['alt', 'ast'])], logger);
    await online.push('labs', [{ patient_id: 'P1', ts: new Date(T / 1000), alt: 40, ast: 30 }]);
    const refs = Object.freeze(['labs:ast'] as FeatureRef[]);
    const request = { features: refs as FeatureRef[], entityRows: [{ patient_id: 'P1' }] };
    expect((await online.get(request)).rows).toEqual([{ patient_id: 'P1', labs__ast: 30 }]);
    expect((await online.get({ ...request, fullFeatureNames: false })).rows).toEqual([
      { patient_id: 'P1', ast: 30 },
    ]);
    // A new definition moves `ast` to another index: the cached plan must not be used.
    await online.apply([view('labs', ['ast', 'alt', 'bili'], 2)], logger);
    await online.push('labs', [{ patient_id: 'P1', ts: new Date(T / 1000), ast: 31, alt: 41, bili: 1 }]);
    expect((await online.get(request)).rows).toEqual([{ patient_id: 'P1', labs__ast: 31 }]);
  });
});
