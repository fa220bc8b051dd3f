import assert from 'node:assert/strict';
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
import { fileImportSource } from './index.js';
import { clinicalSchema } from './testing/clinical-schema.js';
import { writeVsExtracts } from './testing/sdtm-extracts.js';

/** A source over three VS extracts of topic `vitals` (CSV, empty NDJSON, Parquet): the prepared topic. */
async function fixture(): Promise<SourceFixture> {
  const ctx = await createTestContext({ schema: clinicalSchema });
  const { files, partitions } = await writeVsExtracts(ctx.workdir, 'vitals');
  const config = fileImportSource.config.parse({ files, key: 'siteId' });
  return {
    ...(await adapterFixture(fileImportSource, config, ctx)),
    prepared: { topic: 'vitals', partitions },
  };
}

describeContract(sourceContract, 'file-import', fixture);

/** The real adapter with one injected bug: each poll skips the first record it would deliver. */
function withFirstRecordDropped(source: Source): Source {
  return withBrokenConsumer(source, (c) => ({ poll: async (o) => (await c.poll(o)).slice(1) }));
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
