import assert from 'node:assert/strict';
import {
  appendFile,
  mkdtemp,
  open as openFile,
  readdir,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '@vigil/core';
import { afterEach, beforeEach, describe, it } from 'vitest';
import type { PreparedRecord } from './frame.js';
import type { FsyncPolicy } from './partition-log.js';
import { PartitionLog } from './partition-log.js';
import { segmentFileName } from './segment.js';

let dir: string;
let logLines: string[];
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'vigil-partition-log-')), 'p0');
  logLines = [];
});
afterEach(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

function open(segmentBytes = 4096, fsync: FsyncPolicy = 'batch'): Promise<PartitionLog> {
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => logLines.push(chunk.toString()));
  return PartitionLog.open(dir, {
    segmentBytes,
    fsync,
    logger: createLogger({ level: 'warn', destination }),
  });
}

function records(from: number, count: number, size = 40): PreparedRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `k${from + i}`,
    value: `${from + i}:`.padEnd(size, 'x'),
    headers: [],
    timestamp: from + i,
  }));
}

async function readAll(log: PartitionLog, from = 0): Promise<string[]> {
  const out: string[] = [];
  for (let at = from; at < log.endOffset; ) {
    const batch = await log.read(at, 1000, 1 << 20);
    assert.ok(batch.length > 0);
    for (const [i, r] of batch.entries()) assert.equal(r.offset, at + i, 'offsets are contiguous');
    out.push(...batch.map((r) => Buffer.from(r.value).toString()));
    at += batch.length;
  }
  return out;
}

describe('PartitionLog', () => {
  it('appends with consecutive offsets, rolls segments and reads across them', async () => {
    const log = await open(4096);
    assert.equal(await log.append(records(0, 100)), 0);
    assert.equal(await log.append(records(100, 150)), 100);
    assert.equal(log.endOffset, 250);
    assert.ok(log.segmentCount > 2, `${log.segmentCount} segments`);
    const files = (await readdir(dir)).sort();
    assert.equal(files[0], segmentFileName(0));
    for (const f of files) assert.ok((await stat(join(dir, f))).size <= 4096, `${f} within segmentBytes`);
    const values = await readAll(log);
    assert.equal(values.length, 250);
    for (const [i, v] of values.entries()) assert.ok(v.startsWith(`${i}:`));
    // A read bounded by bytes returns at least one record and stops at a record boundary.
    const small = await log.read(10, 100, 1);
    assert.equal(small.length, 1);
    assert.equal(small[0]!.offset, 10);
    await log.close();
  });

  it('a record larger than a segment gets a segment of its own', async () => {
    const log = await open(4096);
    await log.append(records(0, 2, 10_000));
    await log.append(records(2, 1));
    assert.equal(log.segmentCount, 3);
    assert.equal((await readAll(log)).length, 3);
    await log.close();
  });

  it('writes a 10k-record batch as one write per segment and reopens it', async () => {
    const log = await open(64 * 1024 * 1024, 'batch');
    await log.append(records(0, 10_000));
    assert.equal(log.segmentCount, 1);
    await log.close();
    const again = await open(64 * 1024 * 1024);
    assert.equal(again.endOffset, 10_000);
    const values = await readAll(again, 9_990);
    assert.deepEqual(values[9], '9999:'.padEnd(40, 'x'));
    await again.close();
  });

  it("fsync 'always' appends record by record with the same result", async () => {
    const log = await open(4096, 'always');
    await Promise.all([log.append(records(0, 30)), log.append(records(30, 30))]);
    assert.deepEqual(
      (await readAll(log)).map((v) => Number(v.split(':')[0])),
      Array.from({ length: 60 }, (_, i) => i),
    );
    await log.close();
  });

  it('rebuilds its index on reopen and continues the offsets', async () => {
    const log = await open(4096);
    await log.append(records(0, 300));
    await log.close();
    const again = await open(4096);
    assert.equal(again.endOffset, 300);
    assert.equal(await again.append(records(300, 5)), 300);
    assert.equal((await readAll(again)).length, 305);
    await again.close();
  });

  it('truncates a torn tail (half a frame) on open', async () => {
    const log = await open(1 << 20);
    await log.append(records(0, 20));
    await log.close();
    const file = join(dir, segmentFileName(0));
    const whole = (await stat(file)).size;
    await truncate(file, whole - 7);
    const again = await open(1 << 20);
    assert.equal(again.endOffset, 19);
    assert.ok(logLines.some((l) => l.includes('truncated') && l.includes('short-body')));
    assert.ok((await stat(file)).size < whole - 7, 'the partial frame was cut off');
    assert.equal(await again.append(records(19, 1)), 19);
    assert.equal((await readAll(again)).length, 20);
    await again.close();
  });

  it('truncates garbage after the last whole frame and a frame with a bad checksum', async () => {
    const log = await open(1 << 20);
    await log.append(records(0, 10));
    await log.close();
    const file = join(dir, segmentFileName(0));
    await appendFile(file, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    let again = await open(1 << 20);
    assert.equal(again.endOffset, 10);
    await again.close();
    const size = (await stat(file)).size;
    const bytes = Buffer.alloc(1, 0x5a);
    const handle = await openFile(file, 'r+');
    await handle.write(bytes, 0, 1, size - 3); // inside the value of the last record
    await handle.close();
    again = await open(1 << 20);
    assert.equal(again.endOffset, 9);
    assert.ok(logLines.some((l) => l.includes('bad-crc')));
    await again.close();
  });

  it('drops segments that follow a corrupt one (they cannot be reached in order)', async () => {
    const log = await open(4096);
    await log.append(records(0, 300));
    const segments = log.segmentCount;
    await log.close();
    const files = (await readdir(dir)).sort();
    assert.equal(files.length, segments);
    // Cut the first segment short: everything after it is unreachable.
    await truncate(join(dir, files[0]!), 100);
    const again = await open(4096);
    assert.ok(again.endOffset < 10);
    assert.deepEqual(await readdir(dir), [files[0]]);
    assert.ok(logLines.some((l) => l.includes('removed unreachable segments')));
    await again.close();
  });

  it('ignores files that are not segments', async () => {
    const log = await open();
    await log.append(records(0, 3));
    await log.close();
    await writeFile(join(dir, 'notes.txt'), 'hello');
    const again = await open();
    assert.equal(again.endOffset, 3);
    await again.close();
  });
});
