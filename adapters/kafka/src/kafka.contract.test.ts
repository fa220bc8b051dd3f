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
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadKafkaJs } from './client/kafkajs.js';
import { kafkaSource } from './index.js';
import { requireKafkaBroker, testBrokers } from './testing/require-broker.js';

// Runs against the broker of `bash scripts/services up kafka`. The suite names its topics
// `vigil-contract-<prefix>-<pid>-…`; this file deletes its own at the end.

const brokers = testBrokers();
// Short heartbeats so a rebalance is noticed quickly; everything else is the default.
const config = kafkaSource.config.parse({ brokers, heartbeatIntervalMs: 300, sessionTimeoutMs: 10_000 });

beforeAll(async () => {
  await requireKafkaBroker(brokers);
});

afterAll(async () => {
  const { Kafka, logLevel } = await loadKafkaJs();
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter(
      (t) => t.startsWith('vigil-contract-') && t.includes(`-${process.pid}-`),
    );
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
});

/** `reopen` is a second client on the same broker: topics and committed offsets live in Kafka. */
async function fixture(): Promise<SourceFixture> {
  return adapterFixture(kafkaSource, config, await createTestContext());
}

describeContract(sourceContract, 'kafka', fixture);

/** The real adapter with one injected bug: seek() is acknowledged but does nothing. */
function withSeekIgnored(source: Source): Source {
  return withBrokenConsumer(source, (c) => ({
    seek: async () => {
      await c.committed(); // still refuses work after close
    },
  }));
}

describe('source contract catches a kafka source whose seek does nothing', () => {
  it('fails the seek case and passes its neighbours', async () => {
    const names = [
      'seek moves the position back (replay) and forward',
      'maxRecords bounds a poll and the next poll continues without a gap',
    ];
    const contract = { ...sourceContract, cases: sourceContract.cases.filter((c) => names.includes(c.name)) };
    assert.equal(contract.cases.length, 2);
    const report = await checkContract(
      contract,
      async () => {
        const f = await fixture();
        return { ...f, impl: withSeekIgnored(f.impl) };
      },
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(
      report.failed.map((f) => f.name),
      [names[0]],
    );
    assert.deepEqual(report.passed, [names[1]]);
  });
});
