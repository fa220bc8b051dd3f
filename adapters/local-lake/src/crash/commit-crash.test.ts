import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLakeStore } from '../local-lake-store.js';

const child = fileURLToPath(new URL('./commit-crash-child.ts', import.meta.url));
const tsxLoader = fileURLToPath(new URL('../../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const OBJECTS = 800;
const name = (i: number) => `big/${String(i).padStart(5, '0')}.json`;
const content = (i: number) => JSON.stringify({ row: i, hr: 60 + (i % 40) });

/** Run the child; kill it with SIGKILL as soon as it reports reaching its fault point. */
function runChild(
  root: string,
  point: string,
): Promise<{ signal: NodeJS.Signals | null; code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--conditions=@vigil/source', '--import', tsxLoader, child, root, point, '200'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('PAUSED\n')) proc.kill('SIGKILL');
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child exited ${code}: ${err}`));
      else resolve({ code, signal, out });
    });
  });
}

describe('a commit killed with SIGKILL', () => {
  let base: string;
  let template: string;
  let before: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'vigil-lake-crash-'));
    template = join(base, 'template');
    const lake = await LocalLakeStore.open({ root: template, defaultBranch: 'main' });
    await lake.put('main', 'base.txt', new TextEncoder().encode('base'));
    before = (await lake.commit('main', 'base')).id;
    for (let i = 0; i < OBJECTS; i++) await lake.put('main', name(i), new TextEncoder().encode(content(i)));
    await lake.close();
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  async function crashAt(point: string): Promise<string> {
    const root = join(base, point);
    await cp(template, root, { recursive: true });
    const result = await runChild(root, point);
    expect(result.signal).toBe('SIGKILL');
    expect(result.out).not.toContain('COMMITTED');
    return root;
  }

  for (const point of ['sync', 'ref']) {
    it(`at '${point}' leaves the branch at its previous commit, and the rerun commits everything`, async () => {
      const root = await crashAt(point);
      expect(await readdir(join(root, 'locks'))).toEqual(['main.lock']); // left by the killed child
      const lake = await LocalLakeStore.open({ root, defaultBranch: 'main' });
      try {
        expect(await lake.resolve('main')).toBe(before);
        expect(await lake.list(before, 'big/')).toEqual([]);
        expect(await lake.list('main', 'big/')).toHaveLength(OBJECTS); // still staged
        const commit = await lake.commit('main', 'large commit, again');
        expect(commit.parents).toEqual([before]);
        const listed = await lake.list(commit.id, 'big/');
        expect(listed.map((o) => o.path)).toEqual(Array.from({ length: OBJECTS }, (_, i) => name(i)));
        expect(new TextDecoder().decode((await lake.get(commit.id, name(765)))!)).toBe(content(765));
        expect((await lake.log('main')).map((c) => c.id)).toEqual([commit.id, before, expect.any(String)]);
      } finally {
        await lake.close();
      }
    });
  }

  it('just after the branch moved, shows the new commit once and nothing left staged', async () => {
    const root = await crashAt('after-ref');
    const lake = await LocalLakeStore.open({ root, defaultBranch: 'main' });
    try {
      const head = await lake.resolve('main');
      expect(head).not.toBe(before);
      expect(await lake.list(head, 'big/')).toHaveLength(OBJECTS);
      await expect(lake.commit('main', 'again')).rejects.toMatchObject({ code: 'VIGIL_LAKE_NO_CHANGES' });
      await lake.put('main', 'next.txt', new TextEncoder().encode('n'));
      const next = await lake.commit('main', 'next');
      expect(await lake.diff(head, next.id)).toEqual([{ path: 'next.txt', type: 'added' }]);
    } finally {
      await lake.close();
    }
  });

  it('without a fault, the child commits', async () => {
    const root = join(base, 'none');
    await cp(template, root, { recursive: true });
    const result = await runChild(root, 'none');
    expect(result.code).toBe(0);
    const id = /COMMITTED ([0-9a-f]{64})/.exec(result.out)?.[1];
    const lake = await LocalLakeStore.open({ root, defaultBranch: 'main' });
    try {
      expect(await lake.resolve('main')).toBe(id);
    } finally {
      await lake.close();
    }
  });
});
