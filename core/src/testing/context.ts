import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordSchema } from '../domain/record-schema.js';
import type { ComponentContext } from '../kernel/define.js';
import { createLineageRecorder } from '../kernel/lineage.js';
import { createLogger } from '../kernel/logger.js';
import type { PortMap, PortName } from '../ports/index.js';

export interface TestContext extends ComponentContext {
  /** Remove the temporary workdir. */
  cleanup(): Promise<void>;
}

/**
 * A component context for tests outside the kernel: a fresh temporary workdir,
 * a silent logger, and the given already-created ports.
 */
export async function createTestContext(
  options: { seed?: number; ports?: Partial<PortMap>; workdir?: string; schema?: RecordSchema } = {},
): Promise<TestContext> {
  const workdir = options.workdir ?? (await mkdtemp(join(tmpdir(), 'vigil-test-')));
  const controller = new AbortController();
  const runId = `test-${Math.random().toString(36).slice(2, 10)}`;
  return {
    runId,
    workdir,
    seed: options.seed ?? 42,
    logger: createLogger({ level: 'silent' }),
    lineage: createLineageRecorder(runId),
    signal: controller.signal,
    ...(options.schema ? { schema: options.schema } : {}),
    port<P extends PortName>(name: P): PortMap[P] {
      const impl = options.ports?.[name];
      if (!impl) throw new Error(`test context has no port '${name}'`);
      return impl as PortMap[P];
    },
    async cleanup() {
      controller.abort();
      if (!options.workdir) await rm(workdir, { recursive: true, force: true });
    },
  };
}
