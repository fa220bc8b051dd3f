import { duckdbFeatureStore } from '@vigil/adapter-duckdb';
import { fileRegistry } from '@vigil/adapter-file-registry';
import { kafkaSource } from '@vigil/adapter-kafka';
import { lakefsLake } from '@vigil/adapter-lakefs';
import { localMonitor } from '@vigil/adapter-local-monitor';
import { mlflowRegistry } from '@vigil/adapter-mlflow';
import { nodeTrainer } from '@vigil/adapter-node-trainer';
import { onnxServer } from '@vigil/adapter-onnx-server';
import { torchTrainer } from '@vigil/adapter-torch-trainer';
import { definePreset } from '@vigil/core';
import { adverseEventsJob } from '@vigil/job-adverse-events';
import { mqBridgePlugin } from '@vigil/plugin-mq-bridge';
import { rolloutPlugin } from '@vigil/plugin-rollout';

/**
 * Preset `stack`: the same job on real servers on this machine, brought up by
 * `bash scripts/services up kafka lakefs redis mlflow`: Kafka (one topic per event kind,
 * partitioned by site), lakeFS (bronze on main, transforms on a run branch merged
 * atomically), DuckDB offline features with Redis online in Feast's encoding, and MLflow
 * (runs, ONNX artifacts, versions, aliases) as the registry. lakeFS
 * credentials are read only by reference: `eval "$(bash scripts/services env)"` exports
 * the local test ones.
 */
export const stackPreset = definePreset({
  name: 'stack',
  description:
    'Real servers on one machine: Kafka source, lakeFS lake, DuckDB offline + Redis online (Feast encoding), in-process trainer, MLflow registry, OIP server, local monitor.',
  config: {
    version: 1,
    job: { name: adverseEventsJob.name },
    ports: {
      source: { adapter: kafkaSource.name, config: { brokers: ['127.0.0.1:9092'], clientId: 'vigil' } },
      'lake-store': {
        adapter: lakefsLake.name,
        config: {
          endpoint: 'http://127.0.0.1:8000',
          repository: 'vigil',
          // The MinIO bucket scripts/services gives lakeFS as its S3 blockstore.
          storageNamespace: 's3://vigil-lakefs/vigil',
          createRepository: true,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a config-file env reference
          accessKeyId: '${env:VIGIL_LAKEFS_ACCESS_KEY_ID}',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a config-file env reference
          secretAccessKey: '${env:VIGIL_LAKEFS_SECRET_ACCESS_KEY}',
        },
      },
      'feature-store': {
        adapter: duckdbFeatureStore.name,
        config: { online: { type: 'redis', url: 'redis://127.0.0.1:6379', project: 'vigil' } },
      },
      trainer: { adapter: nodeTrainer.name },
      // The MLflow server scripts/services starts (SQLite backend, proxied artifacts).
      registry: { adapter: mlflowRegistry.name, config: { trackingUri: 'http://127.0.0.1:5000' } },
      server: { adapter: onnxServer.name },
      // Drift on a schedule, so a running `vigil serve` exports drift for its alerts.
      monitor: { adapter: localMonitor.name, config: { drift: {} } },
    },
  },
  components: [
    adverseEventsJob,
    kafkaSource,
    lakefsLake,
    duckdbFeatureStore,
    nodeTrainer,
    // Available, not the default: `trainer: { adapter: torch }` trains the TCN with PyTorch
    // (`bash scripts/services up torch`; CUDA when the machine has a GPU).
    torchTrainer,
    fileRegistry,
    mlflowRegistry,
    onnxServer,
    localMonitor,
    mqBridgePlugin,
    // Off unless a config lists it under `plugins`; `vigil serve` then runs canaries.
    rolloutPlugin,
  ],
});

/**
 * Preset `stack-mq`: `stack` plus the MQ bridge in both directions, against the AMQP 1.0
 * broker `bash scripts/services up artemis` starts (in production: IBM MQ's AMQP channel,
 * or `transport: ibmmq`):
 * - inbound: the hospital EHR queues `HOSPITAL.EHR.VITALS` and `HOSPITAL.EHR.LABS` into the
 *   job's `vitals` and `labs` topics, each message a clinical event checked against the job's
 *   record schema, keyed by site, exactly once per message id; poison messages go to
 *   `hospital-dead-letters`;
 * - outbound: the `adverse-events` topic to the regulatory queue `VIGIL.REGULATORY.AE`.
 * Broker credentials by reference: `VIGIL_AMQP_USER`, `VIGIL_AMQP_PASSWORD`.
 */
export const stackMqPreset = definePreset({
  name: 'stack-mq',
  description:
    'The stack preset plus the MQ bridge both ways over AMQP 1.0: hospital EHR queues into the vitals and labs topics (exactly once per message id, poison dead-lettered), adverse events out to the regulatory queue.',
  config: {
    ...stackPreset.config,
    plugins: [
      {
        name: mqBridgePlugin.name,
        config: {
          transport: 'amqp',
          amqp: {
            host: '127.0.0.1',
            port: 5672,
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a config-file env reference
            username: '${env:VIGIL_AMQP_USER}',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a config-file env reference
            password: '${env:VIGIL_AMQP_PASSWORD}',
          },
          topics: ['adverse-events'],
          queue: 'VIGIL.REGULATORY.AE',
          inbound: {
            routes: [
              { queue: 'HOSPITAL.EHR.VITALS', topic: 'vitals' },
              { queue: 'HOSPITAL.EHR.LABS', topic: 'labs' },
            ],
            deadLetterTopic: 'hospital-dead-letters',
            format: 'json',
            schema: 'job',
            key: { field: 'siteId' },
          },
        },
      },
    ],
  },
  components: stackPreset.components,
});
