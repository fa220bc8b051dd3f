import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Source } from '@vigil/core';
import { isVigilError } from '@vigil/core';
import type { TestContext } from '@vigil/core/testing';
import { createTestContext } from '@vigil/core/testing';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { FileLogSource, fileLogSource } from './index.js';

let ctx: TestContext;
let open: Source[];
beforeEach(async () => {
  ctx = await createTestContext();
  open = [];
});
afterEach(async () => {
  for (const s of open) await s.close();
  await ctx.cleanup();
});

async function create(config: Record<string, unknown> = {}): Promise<Source> {
  const source = await fileLogSource.create(fileLogSource.config.parse(config), ctx);
  open.push(source);
  return source;
}

function code(c: string, ...mentions: string[]) {
  return (error: unknown) => {
    assert.ok(isVigilError(error), String(error));
    assert.equal(error.code, c, error.message);
    for (const m of mentions) assert.ok(error.message.includes(m), `'${error.message}' should name ${m}`);
    return true;
  };
}

describe('fileLogSource descriptor', () => {
  it('is a source adapter with documented defaults and a strict config', () => {
    assert.equal(fileLogSource.port, 'source');
    assert.equal(fileLogSource.name, 'file-log');
    assert.deepEqual(fileLogSource.capabilities, {
      partitions: true,
      consumerGroups: true,
      replay: true,
      idempotentProduce: false,
    });
    assert.deepEqual(fileLogSource.config.parse({}), {
      dir: 'log',
      defaultPartitions: 4,
      fsync: 'batch',
      segmentBytes: 64 * 1024 * 1024,
    });
    assert.equal(fileLogSource.config.safeParse({ fsync: 'sometimes' }).success, false);
    assert.equal(fileLogSource.config.safeParse({ partitions: 3 }).success, false, 'unknown keys rejected');
    for (const [name, field] of Object.entries(fileLogSource.config.shape)) {
      assert.ok(field.description, `${name} is described`);
    }
  });

  it('keeps its files under the workdir, in the documented layout', async () => {
    const source = await create({ defaultPartitions: 2 });
    assert.ok(source instanceof FileLogSource);
    assert.equal(source.dir, join(ctx.workdir, 'log'));
    await source.ensureTopic('vitals');
    const consumer = await source.consumer({ group: 'scorer', topics: ['vitals'] });
    await source.produce([{ topic: 'vitals', key: 'site-1', value: 'x' }]);
    await consumer.commit([{ topic: 'vitals', partition: 0, offset: '0' }]);
    assert.deepEqual((await readdir(join(ctx.workdir, 'log'))).sort(), ['LOCK', 'groups', 'topics']);
    assert.deepEqual(JSON.parse(await readFile(join(ctx.workdir, 'log/topics/vitals/meta.json'), 'utf8')), {
      version: 1,
      partitions: 2,
    });
    assert.deepEqual((await readdir(join(ctx.workdir, 'log/topics/vitals'))).sort(), ['0', '1', 'meta.json']);
    assert.deepEqual(await readdir(join(ctx.workdir, 'log/topics/vitals/0')), ['00000000000000000000.log']);
    assert.deepEqual(await readdir(join(ctx.workdir, 'log/groups')), ['scorer.json']);
  });
});

describe('FileLogSource', () => {
  it('rejects bad input with codes and messages that name the field', async () => {
    const source = await create();
    await assert.rejects(source.ensureTopic('../etc'), code('VIGIL_SOURCE_INVALID_REQUEST', 'topic'));
    await assert.rejects(
      source.ensureTopic('t', { partitions: 0 }),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'partitions'),
    );
    await source.ensureTopic('t', { partitions: 2 });
    await assert.rejects(
      source.produce([{ topic: 't', partition: 2, value: 'x' }]),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'records[0].partition', 'partitions 0–1'),
    );
    await assert.rejects(
      source.produce([
        { topic: 't', value: 'ok' },
        { topic: 't', value: 5 as unknown as string },
      ]),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'records[1].value'),
    );
    await assert.rejects(
      source.produce([{ topic: 't', value: 'x', headers: { a: 1 as unknown as string } }]),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'records[0].headers.a'),
    );
    assert.deepEqual(
      (await source.describeTopic('t')).endOffsets,
      ['0', '0'],
      'a rejected batch writes nothing',
    );
    await assert.rejects(
      source.produce([{ topic: 'nope', value: 'x' }]),
      code('VIGIL_SOURCE_UNKNOWN_TOPIC', 'nope'),
    );
    await assert.rejects(
      source.consumer({ group: 'g', topics: ['nope'] }),
      code('VIGIL_SOURCE_UNKNOWN_TOPIC', 'nope'),
    );
    const consumer = await source.consumer({ group: 'g', topics: ['t'] });
    await assert.rejects(
      consumer.commit([{ topic: 't', partition: 0, offset: '1' }]),
      code('VIGIL_SOURCE_INVALID_OFFSET', 'offsets[0].offset', 'end offset 0'),
    );
    await assert.rejects(
      consumer.commit([{ topic: 't', partition: 0, offset: '-1' }]),
      code('VIGIL_SOURCE_INVALID_OFFSET', 'offsets[0].offset'),
    );
    await assert.rejects(
      consumer.seek({ topic: 't', partition: 5, offset: '0' }),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'position.partition'),
    );
    await assert.rejects(
      consumer.poll({ maxRecords: 0 }),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'maxRecords'),
    );
    const other = await source.consumer({ group: 'g', topics: ['t'] });
    await assert.rejects(
      other.seek({ topic: 't', partition: 0, offset: '0' }),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'not assigned'),
    );
  });

  it('a source that is closed refuses work', async () => {
    const source = await create();
    await source.close();
    await assert.rejects(source.ensureTopic('t'), code('VIGIL_KERNEL_CLOSED', 'ensureTopic'));
    await assert.rejects(source.produce([{ topic: 't', value: 'x' }]), code('VIGIL_KERNEL_CLOSED'));
  });

  it('refuses a second open of the same dir, and takes over a lock left by a dead process', async () => {
    const first = await create();
    await assert.rejects(create(), code('VIGIL_COMPONENT_FAILED', 'already open'));
    await first.close();
    // A lock with our own pid that no open source holds (left by an earlier crash of a reused pid).
    await writeFile(join(ctx.workdir, 'log', 'LOCK'), `${process.pid}\n`);
    await (await create()).close();
    // pid 2^22 + 1 is above Linux's default pid_max, so no process has it.
    await writeFile(join(ctx.workdir, 'log', 'LOCK'), `${2 ** 22 + 1}\n`);
    const second = await create();
    assert.equal((await readFile(join(ctx.workdir, 'log', 'LOCK'), 'utf8')).trim(), String(process.pid));
    await second.close();
  });

  it('refuses a dir held by another running process', async () => {
    await create().then((s) => s.close());
    const parentPid = process.ppid; // a live process that is not us
    await writeFile(join(ctx.workdir, 'log', 'LOCK'), `${parentPid}\n`);
    await assert.rejects(create(), code('VIGIL_COMPONENT_FAILED', String(parentPid), 'single-process'));
  });

  it('produces a 10k-record batch and reads it back in order per partition', async () => {
    const source = await create({ defaultPartitions: 4 });
    await source.ensureTopic('vitals');
    const positions = await source.produce(
      Array.from({ length: 10_000 }, (_, i) => ({
        topic: 'vitals',
        key: `patient-${i % 97}`,
        value: `${i}`,
      })),
    );
    assert.equal(positions.length, 10_000);
    const info = await source.describeTopic('vitals');
    assert.equal(
      info.endOffsets.reduce((a, b) => a + Number(b), 0),
      10_000,
    );
    const consumer = await source.consumer({ group: 'g', topics: ['vitals'] });
    const last = new Map<number, number>();
    let count = 0;
    for (;;) {
      const batch = await consumer.poll({ maxRecords: 5000, timeoutMs: 0 });
      if (batch.length === 0) break;
      for (const r of batch) {
        const i = Number(Buffer.from(r.value).toString());
        assert.ok(i > (last.get(r.partition) ?? -1), 'produce order kept within a partition');
        last.set(r.partition, i);
        assert.equal(positions[i]!.offset, r.offset);
        assert.equal(positions[i]!.partition, r.partition);
      }
      count += batch.length;
    }
    assert.equal(count, 10_000);
  });

  it('keyPartitions puts listed keys on their partition, hashes the rest, and refuses a partition the topic lacks', async () => {
    const source = await create({
      keyPartitions: { 'site-01': 0, 'site-02': 1, 'site-03': 2, 'site-04': 3 },
    });
    await source.ensureTopic('sites', { partitions: 4 });
    const keys = ['site-01', 'site-02', 'site-03', 'site-04', 'site-04', 'site-02'];
    const positions = await source.produce(keys.map((key) => ({ topic: 'sites', key, value: 'v' })));
    assert.deepEqual(
      positions.map((p) => p.partition),
      [0, 1, 2, 3, 3, 1],
    );
    const [other, explicit] = await source.produce([
      { topic: 'sites', key: 'foobar', value: 'v' },
      { topic: 'sites', key: 'site-01', value: 'v', partition: 2 },
    ]);
    assert.equal(other?.partition, (-790332482 & 0x7fffffff) % 4);
    assert.equal(explicit?.partition, 2);
    await source.ensureTopic('narrow', { partitions: 2 });
    await assert.rejects(
      source.produce([{ topic: 'narrow', key: 'site-04', value: 'v' }]),
      code('VIGIL_SOURCE_INVALID_REQUEST', 'site-04', 'partition 3', 'partitions 0–1'),
    );
    assert.equal(fileLogSource.config.safeParse({ keyPartitions: { a: -1 } }).success, false);
  });

  it('concurrent produce calls get distinct, contiguous offsets', async () => {
    const source = await create();
    await source.ensureTopic('t', { partitions: 1 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, c) =>
        source.produce(Array.from({ length: 10 }, (_, i) => ({ topic: 't', value: `${c}-${i}` }))),
      ),
    );
    const offsets = results
      .flat()
      .map((p) => Number(p.offset))
      .sort((a, b) => a - b);
    assert.deepEqual(
      offsets,
      Array.from({ length: 200 }, (_, i) => i),
    );
    for (const r of results) {
      const own = r.map((p) => Number(p.offset));
      assert.deepEqual(
        own,
        own.map((_, i) => own[0]! + i),
        'one produce call is contiguous',
      );
    }
  });

  it('a committed offset beyond a log cut back by recovery resumes at the end', async () => {
    const source = await create();
    await source.ensureTopic('t', { partitions: 1 });
    await source.produce([{ topic: 't', value: 'a' }]);
    await source.close();
    await writeFile(
      join(ctx.workdir, 'log/groups/g.json'),
      JSON.stringify({ version: 1, group: 'g', offsets: { t: { '0': '5' } } }),
    );
    const again = await create();
    const consumer = await again.consumer({ group: 'g', topics: ['t'] });
    await again.produce([{ topic: 't', value: 'b' }]);
    assert.deepEqual(
      (await consumer.poll({ timeoutMs: 0 })).map((r) => Buffer.from(r.value).toString()),
      ['b'],
    );
  });
});
