import assert from 'node:assert/strict';
import type { Consumer, Source } from '@vigil/core';
import type { SourceFixture } from '@vigil/core/testing';
import { checkContract, createTestContext, describeContract, sourceContract } from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { fileImportSource } from './index.js';
import { writeVsExtracts } from './testing/sdtm-extracts.js';

/** A source over three VS extracts of topic `vitals` (CSV, empty NDJSON, Parquet): the prepared topic. */
async function fixture(): Promise<SourceFixture> {
  const ctx = await createTestContext();
  const { files, partitions } = await writeVsExtracts(ctx.workdir, 'vitals');
  const config = fileImportSource.config.parse({ files });
  const impl = await fileImportSource.create(config, ctx);
  let reopened: Source | undefined;
  return {
    impl,
    prepared: { topic: 'vitals', partitions },
    reopen: async () => {
      reopened = await fileImportSource.create(config, ctx);
      return reopened;
    },
    async cleanup() {
      await impl.close();
      await reopened?.close();
      await ctx.cleanup();
    },
  };
}

describeContract(sourceContract, 'file-import', fixture);

/** The real adapter with one injected bug: each poll skips the first record it would deliver. */
function withFirstRecordDropped(source: Source): Source {
  return {
    capabilities: source.capabilities,
    ensureTopic: (t, o) => source.ensureTopic(t, o),
    describeTopic: (t) => source.describeTopic(t),
    produce: (r) => source.produce(r),
    close: () => source.close(),
    async consumer(options) {
      const c = await source.consumer(options);
      const broken: Consumer = {
        poll: async (o) => (await c.poll(o)).slice(1),
        commit: (o) => c.commit(o),
        committed: () => c.committed(),
        seek: (p) => c.seek(p),
        close: () => c.close(),
      };
      return broken;
    },
  };
}

describe('source contract catches a file-import that loses records', () => {
  it('fails the prepared-topic case and passes the other applicable ones', async () => {
    const report = await checkContract(sourceContract, async () => {
      const f = await fixture();
      return { ...f, impl: withFirstRecordDropped(f.impl) };
    });
    assert.deepEqual(
      report.failed.map((f) => f.name),
      [sourceContract.cases.find((c) => c.name.startsWith('a prepared topic'))!.name],
    );
    assert.equal(report.passed.length, 3);
  });
});
