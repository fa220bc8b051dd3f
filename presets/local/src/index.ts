import { duckdbFeatureStore } from '@vigil/adapter-duckdb';
import { fileLogSource } from '@vigil/adapter-file-log';
import { fileRegistry } from '@vigil/adapter-file-registry';
import { localLake } from '@vigil/adapter-local-lake';
import { localMonitor } from '@vigil/adapter-local-monitor';
import { nodeTrainer } from '@vigil/adapter-node-trainer';
import { onnxServer } from '@vigil/adapter-onnx-server';
import { definePreset } from '@vigil/core';
import { adverseEventsJob } from '@vigil/job-adverse-events';
import { mqBridgePlugin } from '@vigil/plugin-mq-bridge';
import { rolloutPlugin } from '@vigil/plugin-rollout';

/**
 * Preset `local`: every port filled by its embedded adapter. No servers, no Docker:
 * everything lives under the run's workdir.
 */
export const localPreset = definePreset({
  name: 'local',
  description:
    'Every port embedded on one machine: file log, local versioned lake, DuckDB features, in-process trainer, file registry, OIP server, local monitor.',
  config: {
    version: 1,
    job: { name: adverseEventsJob.name },
    ports: {
      source: { adapter: fileLogSource.name },
      'lake-store': { adapter: localLake.name },
      'feature-store': { adapter: duckdbFeatureStore.name },
      trainer: { adapter: nodeTrainer.name },
      registry: { adapter: fileRegistry.name },
      server: { adapter: onnxServer.name },
      // Drift on a schedule, so a running `vigil serve` exports drift for its alerts.
      monitor: { adapter: localMonitor.name, config: { drift: {} } },
    },
  },
  components: [
    adverseEventsJob,
    fileLogSource,
    localLake,
    duckdbFeatureStore,
    nodeTrainer,
    fileRegistry,
    onnxServer,
    localMonitor,
    mqBridgePlugin,
    // Off unless a config lists it under `plugins`; `vigil serve` then runs canaries.
    rolloutPlugin,
  ],
});
