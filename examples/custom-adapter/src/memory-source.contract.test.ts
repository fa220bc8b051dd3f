import assert from 'node:assert/strict';
import type { Source } from '@vigil/core';
import type { SourceFixture } from '@vigil/core/testing';
import {
  checkContract,
  createTestContext,
  describeContract,
  sourceContract,
  withBrokenConsumer,
  withOverrides,
} from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { memorySource } from './index.js';

/** A fresh memory source per case. No `reopen`: nothing outlives `close()`. */
async function fixture(): Promise<SourceFixture> {
  const ctx = await createTestContext();
  const impl = await memorySource.create(memorySource.config.parse({}), ctx);
  return {
    impl,
    async cleanup() {
      await impl.close();
      await ctx.cleanup();
    },
  };
}

describeContract(sourceContract, 'memory (example)', fixture);

async function failedCases(wrap: (source: Source) => Source) {
  const report = await checkContract(sourceContract, async () => {
    const f = await fixture();
    return { ...f, impl: wrap(f.impl) };
  });
  return { report, failed: report.failed.map((f) => f.name).sort() };
}

describe('source contract catches a broken memory source', () => {
  it('a seek that is acknowledged but does not move the position fails the seek case only', async () => {
    const { report, failed } = await failedCases((s) =>
      withBrokenConsumer(s, (c) => ({
        seek: async () => {
          await c.committed(); // still refuses work after close
        },
      })),
    );
    assert.deepEqual(failed, ['seek moves the position back (replay) and forward']);
    assert.equal(report.passed.length + report.skipped.length, sourceContract.cases.length - 1);
  });

  it('a producer that ignores keys (sticky: one partition per produce call) fails the key case only', async () => {
    const { failed } = await failedCases((source) => {
      let call = 0;
      return withOverrides(source, () => ({
        async produce(records) {
          call += 1;
          const partitions = new Map<string, number>();
          for (const r of records) {
            if (!partitions.has(r.topic))
              partitions.set(r.topic, (await source.describeTopic(r.topic)).partitions);
          }
          return source.produce(
            records.map((r) =>
              r.partition !== undefined || !r.key ? r : { ...r, partition: call % partitions.get(r.topic)! },
            ),
          );
        },
      }));
    });
    assert.deepEqual(failed, ['the same key always lands on the same partition']);
  });
});
