import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordSchema } from '../domain/record-schema.js';
import type { ComponentContext, Hooks } from '../kernel/define.js';
import { createLineageRecorder } from '../kernel/lineage.js';
import { createLogger } from '../kernel/logger.js';
import type { PortMap, PortName } from '../ports/index.js';

export interface TestContext extends ComponentContext {
  /** Hooks emitted through `emit`, in order. */
  readonly emitted: { hook: keyof Hooks; arg: unknown }[];
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
  const emitted: { hook: keyof Hooks; arg: unknown }[] = [];
  return {
    emitted,
    async emit(hook, arg) {
      emitted.push({ hook, arg });
      if (hook === 'predictions' && options.ports?.monitor) {
        await options.ports.monitor.recordPredictions([...(arg as Parameters<Hooks['predictions']>[0])]);
      }
    },
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
