import assert from 'node:assert/strict';
import { type ErrorCode, isVigilError } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { afterEach, describe, it } from 'vitest';
import { z } from 'zod';
import { fnv1a, KeyPartitioner, memorySource, memorySourceConfig } from './index.js';
import { MemorySource } from './memory-source.js';

const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');

const open: MemorySource[] = [];
function source(config: Partial<z.input<typeof memorySourceConfig>> = {}): MemorySource {
  const s = new MemorySource(memorySourceConfig.parse(config));
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe('config', () => {
  it('fills defaults, rejects unknown keys and bad values, and describes every field', () => {
    assert.deepEqual(memorySourceConfig.parse({}), {
      defaultPartitions: 4,
      maxRecordsPerPartition: 1_000_000,
    });
    assert.equal(memorySourceConfig.safeParse({ dir: 'log' }).success, false);
    const bad = memorySourceConfig.safeParse({ defaultPartitions: 0, maxRecordsPerPartition: 1.5 });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')).sort(), [
      'defaultPartitions',
      'maxRecordsPerPartition',
    ]);
    const schema = z.toJSONSchema(memorySourceConfig, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
    };
    for (const [name, field] of Object.entries(schema.properties)) {
      assert.ok(field.description && field.description.length > 10, `${name} is described`);
    }
  });

  it('the descriptor is a source adapter named memory that creates a working source', async () => {
    assert.equal(memorySource.kind, 'adapter');
    assert.equal(memorySource.port, 'source');
    assert.equal(memorySource.name, 'memory');
    const ctx = await createTestContext();
    const s = await memorySource.create(memorySource.config.parse({ defaultPartitions: 3 }), ctx);
    try {
      await s.ensureTopic('t');
      assert.equal((await s.describeTopic('t')).partitions, 3);
    } finally {
      await s.close();
      await ctx.cleanup();
    }
  });
});

describe('partitioner', () => {
  it('FNV-1a matches its published test vectors', () => {
    const enc = new TextEncoder();
    assert.equal(fnv1a(enc.encode('')), 0x811c9dc5);
    assert.equal(fnv1a(enc.encode('a')), 0xe40c292c);
    assert.equal(fnv1a(enc.encode('foobar')), 0xbf9cf968);
  });

  it('keys are stable across partitioner instances; null keys go round-robin', () => {
    const a = new KeyPartitioner(7);
    const b = new KeyPartitioner(7);
    for (let i = 0; i < 50; i++)
      assert.equal(a.partition(`patient-site-${i}`), b.partition(`patient-site-${i}`));
    const nulls = Array.from({ length: 9 }, () => a.partition(null));
    assert.deepEqual(nulls, [0, 1, 2, 3, 4, 5, 6, 0, 1]);
  });
});

describe('maxRecordsPerPartition', () => {
  it('a produce that would overflow a partition fails as a whole, naming the field', async () => {
    const s = source({ maxRecordsPerPartition: 5 });
    await s.ensureTopic('vitals', { partitions: 2 });
    await s.produce(Array.from({ length: 4 }, (_, i) => ({ topic: 'vitals', partition: 0, value: `a${i}` })));
    await assert.rejects(
      s.produce([
        { topic: 'vitals', partition: 1, value: 'fits' },
        { topic: 'vitals', partition: 0, value: 'fits' },
        { topic: 'vitals', partition: 0, value: 'overflows' },
      ]),
      (error: unknown) => {
        assert.ok(isVigilError(error, 'VIGIL_SOURCE_INVALID_REQUEST'), String(error));
        assert.match(error.message, /maxRecordsPerPartition \(5\)/);
        assert.match(error.message, /vitals\/0 holds 4 records/);
        return true;
      },
    );
    assert.deepEqual((await s.describeTopic('vitals')).endOffsets, ['4', '0'], 'nothing appended');
    await s.produce([{ topic: 'vitals', partition: 0, value: 'last' }]);
    assert.deepEqual((await s.describeTopic('vitals')).endOffsets, ['5', '0']);
  });
});

describe('records', () => {
  it('the log keeps its own copies of values and hands out copies', async () => {
    const s = source();
    await s.ensureTopic('t', { partitions: 1 });
    const value = new TextEncoder().encode('abc');
    await s.produce([
      { topic: 't', value: Buffer.from('xyz') },
      { topic: 't', value },
    ]);
    value[0] = 0x7a;
    const c = await s.consumer({ group: 'g', topics: ['t'] });
    const first = await c.poll({ timeoutMs: 0 });
    assert.deepEqual(
      first.map((r) => text(r.value)),
      ['xyz', 'abc'],
    );
    first[0]!.value[0] = 0x41;
    await c.seek({ topic: 't', partition: 0, offset: '0' });
    assert.equal(text((await c.poll({ timeoutMs: 0 }))[0]!.value), 'xyz');
  });

  it('rejects bad records, names and options with the field in the message', async () => {
    const s = source();
    await s.ensureTopic('t', { partitions: 2 });
    const code =
      (pattern: RegExp, expected: ErrorCode = 'VIGIL_SOURCE_INVALID_REQUEST') =>
      (error: unknown) => {
        assert.ok(isVigilError(error, expected), String(error));
        assert.match(error.message, pattern);
        return true;
      };
    await assert.rejects(s.ensureTopic('bad name'), code(/topic "bad name" is not a valid topic name/));
    await assert.rejects(s.ensureTopic('x', { partitions: 0 }), code(/partitions must be an integer/));
    await assert.rejects(
      s.produce([
        { topic: 't', value: 'ok' },
        { topic: 't', value: 42 as never },
      ]),
      code(/records\[1\]\.value/),
    );
    await assert.rejects(
      s.produce([{ topic: 't', value: 'x', headers: { n: 1 as never } }]),
      code(/records\[0\]\.headers\.n/),
    );
    await assert.rejects(
      s.produce([{ topic: 't', value: 'x', partition: 1.5 }]),
      code(/records\[0\]\.partition 1\.5/),
    );
    assert.deepEqual((await s.describeTopic('t')).endOffsets, ['0', '0'], 'a rejected batch appends nothing');
    await assert.rejects(
      s.consumer({ group: 'g', topics: ['t', 'nope'] }),
      code(/options\.topics\[1\] "nope" does not exist/, 'VIGIL_SOURCE_UNKNOWN_TOPIC'),
    );
    await assert.rejects(s.consumer({ group: '', topics: ['t'] }), code(/options\.group/));
    const c = await s.consumer({ group: 'g', topics: ['t'] });
    await assert.rejects(c.poll({ maxRecords: 0 }), code(/maxRecords/));
    await assert.rejects(
      c.commit([{ topic: 't', partition: 0, offset: '-1' }]),
      code(/offsets\[0\]\.offset/),
    );
    await assert.rejects(
      c.commit([
        { topic: 't', partition: 0, offset: '0' },
        { topic: 't', partition: 1, offset: '3' },
      ]),
      code(/offsets\[1\]\.offset 3 is past the end of t\/1/, 'VIGIL_SOURCE_INVALID_OFFSET'),
    );
    assert.deepEqual(await c.committed(), [], 'a commit with a bad entry stores nothing');
  });
});

describe('groups', () => {
  it('a joining consumer takes partitions over at the committed offset; a leaving one hands them back', async () => {
    const s = source();
    await s.ensureTopic('t', { partitions: 2 });
    await s.produce(Array.from({ length: 6 }, (_, i) => ({ topic: 't', partition: i % 2, value: `v${i}` })));
    const one = await s.consumer({ group: 'g', topics: ['t'] });
    assert.deepEqual(one.assignment(), [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
    const read = await one.poll({ timeoutMs: 0 });
    assert.equal(read.length, 6);
    await one.commit([{ topic: 't', partition: 1, offset: '1' }]);
    const two = await s.consumer({ group: 'g', topics: ['t'] });
    assert.deepEqual(one.assignment(), [{ topic: 't', partition: 0 }]);
    assert.deepEqual(two.assignment(), [{ topic: 't', partition: 1 }]);
    assert.deepEqual(
      (await two.poll({ timeoutMs: 0 })).map((r) => text(r.value)),
      ['v3', 'v5'],
      'resumes partition 1 at its committed offset',
    );
    assert.deepEqual(await one.poll({ timeoutMs: 0 }), [], 'one keeps its position in partition 0');
    await two.close();
    assert.equal(one.assignment().length, 2);
    assert.deepEqual(
      (await one.poll({ timeoutMs: 0 })).map((r) => text(r.value)),
      ['v3', 'v5'],
      'partition 1 comes back at the committed offset (at-least-once)',
    );
  });

  it('a poll waiting on a consumer that closes returns empty at once', async () => {
    const s = source();
    await s.ensureTopic('t', { partitions: 1 });
    const c = await s.consumer({ group: 'g', topics: ['t'] });
    const started = Date.now();
    const waiting = c.poll({ timeoutMs: 5_000 });
    await c.close();
    assert.deepEqual(await waiting, []);
    assert.ok(Date.now() - started < 1_000);
  });
});

describe('close', () => {
  it('drops everything and refuses further use with VIGIL_KERNEL_CLOSED', async () => {
    const s = source();
    await s.ensureTopic('t', { partitions: 1 });
    await s.close();
    for (const call of [
      () => s.ensureTopic('t'),
      () => s.describeTopic('t'),
      () => s.produce([{ topic: 't', value: 'x' }]),
      () => s.consumer({ group: 'g', topics: ['t'] }),
    ]) {
      await assert.rejects(call(), (error: unknown) => isVigilError(error, 'VIGIL_KERNEL_CLOSED'));
    }
  });
});
