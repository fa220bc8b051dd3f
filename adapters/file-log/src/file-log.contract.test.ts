import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Source } from '@vigil/core';
import type { SourceFixture } from '@vigil/core/testing';
import {
  adapterFixture,
  checkContract,
  createTestContext,
  describeContract,
  sourceContract,
  withBrokenConsumer,
} from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { fileLogSource } from './index.js';

async function fixture(): Promise<SourceFixture> {
  const config = fileLogSource.config.parse({ segmentBytes: 4096 });
  return adapterFixture(fileLogSource, config, await createTestContext());
}

describeContract(sourceContract, 'file-log', fixture);

/** The real adapter with one injected bug: commits are acknowledged but never stored. */
function withCommitDropped(source: Source): Source {
  return withBrokenConsumer(source, (c) => ({
    // Still refuses work after close (committed() checks), but stores nothing.
    commit: async () => {
      await c.committed();
    },
  }));
}

describe('source contract catches a file-log with a broken commit', () => {
  it('fails the commit and durability cases, passes the rest', async () => {
    const report = await checkContract(sourceContract, async () => {
      const f = await fixture();
      const reopen = f.reopen!;
      return { ...f, impl: withCommitDropped(f.impl), reopen: async () => withCommitDropped(await reopen()) };
    });
    const failed = report.failed.map((f) => f.name).sort();
    assert.deepEqual(failed, [
      'commit takes the next offset; a new consumer of the group resumes there and redelivers the rest',
      'records and committed offsets survive closing and reopening the source',
    ]);
    assert.equal(report.passed.length, sourceContract.cases.length - 2);
  });
});

describe('fixture hygiene', () => {
  it('a temporary dir outside the workdir is usable as an absolute dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-file-log-abs-'));
    const ctx = await createTestContext();
    try {
      const source = await fileLogSource.create(fileLogSource.config.parse({ dir }), ctx);
      await source.ensureTopic('t', { partitions: 1 });
      assert.deepEqual((await source.describeTopic('t')).endOffsets, ['0']);
      await source.close();
    } finally {
      await ctx.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
