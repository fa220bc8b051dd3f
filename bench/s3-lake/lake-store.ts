/**
 * Benchmark: the same lake workload through Vigil's s3 LakeStore and through the AWS SDK v3
 * called directly (the peer: what any S3 client pays), on the MinIO of scripts/services, in
 * one run. Phases: put N objects (8 at a time), list them, get them, commit (Vigil: a marker
 * with the manifest; peer: list + write a manifest object by hand), get them at that commit
 * (Vigil on a versioned bucket: by VersionId). Prints milliseconds per phase and the ratios.
 *
 *   bash scripts/services up minio
 *   node --conditions=@vigil/source --import tsx bench/s3-lake/lake-store.ts [objects] [bytes] [rounds]
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Lake } from '@vigil/adapter-s3';
import {
  adminClient,
  freshPrefix,
  minio,
  removePrefix,
  requireMinio,
  VERSIONED_BUCKET,
} from '@vigil/adapter-s3/testing';
import { type ComponentContext, createLineageRecorder, createLogger, createRng } from '@vigil/core';

const objects = Number(process.argv[2] ?? 200);
const size = Number(process.argv[3] ?? 16_384);
const concurrency = 8;

const rng = createRng(7);
const payloads = Array.from({ length: objects }, () => {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.int(256);
  return data;
});
const pathOf = (i: number) => `bench/part-${String(i).padStart(5, '0')}.bin`;

interface Contender {
  name: string;
  put(path: string, data: Uint8Array): Promise<unknown>;
  list(prefix: string): Promise<unknown[]>;
  get(path: string): Promise<Uint8Array | null>;
  commit(): Promise<string>;
  getAt(commit: string, path: string): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

async function pool(n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const fail = (what: string): never => {
  throw new Error(`output check failed: ${what}`);
};
const sameBytes = (a: Uint8Array | null | undefined, b: Uint8Array) =>
  a != null &&
  a.byteLength === b.byteLength &&
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b)) === 0;

/** Every object read back must be the bytes written to that path; checked outside the timings. */
function checkReads(c: Contender, phase: string, read: (Uint8Array | null)[]): void {
  for (let i = 0; i < objects; i++) {
    if (!sameBytes(read[i], payloads[i]!)) fail(`${c.name} ${phase}: ${pathOf(i)} differs from what was put`);
  }
}

async function run(c: Contender): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  const time = async (phase: string, work: () => Promise<unknown>) => {
    const t0 = performance.now();
    await work();
    times[phase] = performance.now() - t0;
  };
  await time('put', () => pool(objects, (i) => c.put(pathOf(i), payloads[i]!)));
  let listed: unknown[] = [];
  await time('list', async () => {
    listed = await c.list('bench/');
  });
  // The listing must name exactly the objects put (paths relative to the lake or the prefix).
  const names = listed
    .map((o) => String((o as { path?: string; Key?: string }).path ?? (o as { Key?: string }).Key))
    .map((k) => k.slice(k.lastIndexOf('bench/')))
    .sort();
  const expected = Array.from({ length: objects }, (_, i) => pathOf(i));
  if (names.join('\n') !== expected.join('\n'))
    fail(`${c.name}: listed ${names.length} paths, not exactly the ${objects} put`);
  const read: (Uint8Array | null)[] = [];
  await time('get', () =>
    pool(objects, async (i) => {
      read[i] = await c.get(pathOf(i));
    }),
  );
  checkReads(c, 'get', read);
  let commit = '';
  await time('commit', async () => {
    commit = await c.commit();
  });
  const readAt: (Uint8Array | null)[] = [];
  await time('get@commit', () =>
    pool(objects, async (i) => {
      readAt[i] = await c.getAt(commit, pathOf(i));
    }),
  );
  checkReads(c, 'get@commit', readAt);
  await c.close();
  return times;
}

function context(): ComponentContext {
  return {
    runId: 'bench',
    workdir: '/tmp',
    seed: 7,
    logger: createLogger({ level: 'silent' }),
    lineage: createLineageRecorder('bench'),
    signal: new AbortController().signal,
    emit: async () => undefined,
    port: () => {
      throw new Error('the benchmark uses no other port');
    },
  };
}

async function vigil(prefix: string): Promise<Contender> {
  const lake = await s3Lake.create(
    s3Lake.config.parse({
      endpoint: minio.endpoint,
      forcePathStyle: true,
      accessKeyId: minio.accessKeyId,
      secretAccessKey: minio.secretAccessKey,
      bucket: VERSIONED_BUCKET,
      prefix,
      createBucket: true,
    }),
    context(),
  );
  return {
    name: 'vigil s3 lake',
    put: (path, data) => lake.put('main', path, data),
    list: (prefix) => lake.list('main', prefix),
    get: (path) => lake.get('main', path),
    commit: async () => (await lake.commit('main', 'bench')).id,
    getAt: (commit, path) => lake.get(commit, path),
    close: () => lake.close(),
  };
}

function sdk(client: S3Client, prefix: string): Contender {
  const Bucket = VERSIONED_BUCKET;
  const key = (path: string) => `${prefix}/${path}`;
  const read = async (path: string, VersionId?: string) => {
    const out = await client.send(new GetObjectCommand({ Bucket, Key: key(path), VersionId }));
    return out.Body ? out.Body.transformToByteArray() : null;
  };
  const listAll = async (p: string) => {
    const all: { Key?: string; ETag?: string; Size?: number }[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket, Prefix: key(p), ContinuationToken: token }),
      );
      all.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return all;
  };
  return {
    name: 'aws sdk direct',
    put: (path, data) =>
      client.send(
        new PutObjectCommand({ Bucket, Key: key(path), Body: data, ContentLength: data.byteLength }),
      ),
    list: listAll,
    get: (path) => read(path),
    commit: async () => {
      const manifest = (await listAll('')).map((o) => [o.Key, o.ETag, o.Size]);
      await client.send(
        new PutObjectCommand({ Bucket, Key: key('manifest.json'), Body: JSON.stringify(manifest) }),
      );
      return 'manifest.json';
    },
    getAt: (_commit, path) => read(path),
    close: async () => {},
  };
}

await requireMinio();
const rounds = Number(process.argv[4] ?? 3);
const admin = adminClient();
const used: string[] = [];
const fresh = (label: string) => {
  const prefix = freshPrefix(label);
  used.push(prefix);
  return prefix;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  // Warm-up so neither side pays for connection setup in its first phase.
  await sdk(admin, fresh('bench-warm')).put('warm', new Uint8Array(1));
  const ours: Record<string, number>[] = [];
  const peer: Record<string, number>[] = [];
  // Alternate the order each round so machine load drifts hit both sides alike; report medians.
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      peer.push(await run(sdk(admin, fresh('bench-sdk'))));
      ours.push(await run(await vigil(fresh('bench-vigil'))));
    } else {
      ours.push(await run(await vigil(fresh('bench-vigil'))));
      peer.push(await run(sdk(admin, fresh('bench-sdk'))));
    }
  }
  console.log(
    `s3 lake workload: ${objects} objects × ${size} bytes, ${concurrency} at a time, MinIO at ${minio.endpoint}, median of ${rounds} rounds; outputs checked: yes (every list and every object read back, byte for byte, both sides, every round)`,
  );
  console.log(
    `${'phase'.padEnd(12)}${'vigil ms'.padStart(12)}${'sdk ms'.padStart(12)}${'ratio'.padStart(9)}`,
  );
  let totalOurs = 0;
  let totalPeer = 0;
  for (const phase of Object.keys(ours[0]!)) {
    const a = median(ours.map((t) => t[phase]!));
    const b = median(peer.map((t) => t[phase]!));
    totalOurs += a;
    totalPeer += b;
    console.log(
      `${phase.padEnd(12)}${a.toFixed(1).padStart(12)}${b.toFixed(1).padStart(12)}${(a / b).toFixed(2).padStart(9)}`,
    );
  }
  console.log(
    `${'total'.padEnd(12)}${totalOurs.toFixed(1).padStart(12)}${totalPeer.toFixed(1).padStart(12)}${(totalOurs / totalPeer).toFixed(2).padStart(9)}`,
  );
} finally {
  for (const p of used) await removePrefix(admin, VERSIONED_BUCKET, p);
  admin.destroy();
}
