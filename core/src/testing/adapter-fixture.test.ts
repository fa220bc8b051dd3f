import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { describe, it } from 'vitest';
import { z } from 'zod';
import { defineAdapter } from '../kernel/define.js';
import type { Monitor } from '../ports/monitor.js';
import { adapterFixture } from './adapter-fixture.js';
import { createTestContext } from './context.js';

const events: string[] = [];
const workdirs = new Set<string>();
let failCreate = false;

/** A monitor adapter whose instances log their creation and close (nothing else is called). */
const probe = defineAdapter({
  port: 'monitor',
  name: 'probe',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'records create and close calls',
  config: z.strictObject({ label: z.string().describe('name in the event log') }),
  capabilities: { prometheus: false, drift: false, calibration: false },
  async create(config, ctx): Promise<Monitor> {
    if (failCreate) throw new Error('create failed');
    const id = `${config.label}#${events.filter((e) => e.startsWith('create')).length + 1}`;
    events.push(`create ${id}`);
    workdirs.add(ctx.workdir);
    return {
      capabilities: { prometheus: false, drift: false, calibration: false },
      close: async () => void events.push(`close ${id}`),
    } as unknown as Monitor;
  },
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('adapterFixture', () => {
  it('creates, reopens on the same context, and cleans up every instance and then the context', async () => {
    events.length = 0;
    workdirs.clear();
    const ctx = await createTestContext();
    const fixture = await adapterFixture(probe, { label: 'm' }, ctx);
    await fixture.reopen();
    await fixture.reopen();
    assert.equal(await exists(ctx.workdir), true);
    await fixture.cleanup();
    assert.deepEqual(events, [
      'create m#1',
      'create m#2',
      'create m#3',
      'close m#1',
      'close m#2',
      'close m#3',
    ]);
    assert.deepEqual([...workdirs], [ctx.workdir]);
    assert.equal(await exists(ctx.workdir), false);
    assert.equal(ctx.signal.aborted, true);
  });

  it('wraps every instance, the first and the reopened ones', async () => {
    const ctx = await createTestContext();
    const wrapped = new WeakSet<object>();
    const fixture = await adapterFixture(probe, { label: 'w' }, ctx, {
      wrap: (impl) => {
        const w = { ...impl, close: () => impl.close() };
        wrapped.add(w);
        return w;
      },
    });
    assert.ok(wrapped.has(fixture.impl));
    assert.ok(wrapped.has(await fixture.reopen()));
    await fixture.cleanup();
  });

  it('cleans up the context when the first create fails', async () => {
    const ctx = await createTestContext();
    failCreate = true;
    try {
      await assert.rejects(adapterFixture(probe, { label: 'x' }, ctx), /create failed/);
    } finally {
      failCreate = false;
    }
    assert.equal(await exists(ctx.workdir), false);
  });
});
