import type { LineageRecord, LineageStep } from '../domain/lineage.js';
import type { LineageRecorder } from './define.js';

/** An in-memory lineage record for one run; the job persists its snapshot. */
export function createLineageRecorder(runId: string, codeVersion = 'dev', configHash = ''): LineageRecorder {
  const steps: LineageStep[] = [];
  const startedAt = new Date().toISOString();
  return {
    record(step, inputs, outputs, meta) {
      steps.push({
        step,
        at: new Date().toISOString(),
        inputs: { ...inputs },
        outputs: { ...outputs },
        ...meta,
      });
    },
    snapshot(): LineageRecord {
      return { runId, startedAt, codeVersion, configHash, steps: steps.map((s) => ({ ...s })) };
    },
  };
}
