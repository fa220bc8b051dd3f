import assert from 'node:assert/strict';
import { CORE_VERSION, ComponentRegistry, isVigilError, loadConfig } from '@vigil/core';
import { describe, it } from 'vitest';
import { stackMqPreset, stackPreset } from './index.js';

describe('preset stack-mq', () => {
  const registry = () => new ComponentRegistry(CORE_VERSION).register(stackPreset).register(stackMqPreset);

  it('validates, with the MQ bridge configured both ways and the credentials taken from the environment', () => {
    const config = loadConfig(
      { version: 1, preset: 'stack-mq' },
      {
        registry: registry(),
        env: {
          VIGIL_AMQP_USER: 'vigil',
          VIGIL_AMQP_PASSWORD: 'secret',
          VIGIL_LAKEFS_ACCESS_KEY_ID: 'k',
          VIGIL_LAKEFS_SECRET_ACCESS_KEY: 's',
        },
      },
    );
    assert.equal(config.ports.source.adapter, 'kafka');
    assert.equal(config.plugins.length, 1);
    const bridge = config.plugins[0]!;
    assert.equal(bridge.name, 'mq-bridge');
    const c = bridge.config as {
      topics: string[];
      queue: string;
      amqp: { username: string; password: string };
      inbound: { routes: { queue: string; topic: string }[]; schema: string; deadLetterTopic: string };
    };
    assert.deepEqual(c.topics, ['adverse-events']);
    assert.equal(c.queue, 'VIGIL.REGULATORY.AE');
    assert.deepEqual(c.amqp, { ...c.amqp, username: 'vigil', password: 'secret' });
    assert.deepEqual(
      c.inbound.routes.map((r) => r.topic),
      ['vitals', 'labs'],
    );
    assert.equal(c.inbound.schema, 'job');
    assert.equal(c.inbound.deadLetterTopic, 'hospital-dead-letters');
  });

  it('reports missing broker credentials by name', () => {
    assert.throws(
      () =>
        loadConfig(
          { version: 1, preset: 'stack-mq' },
          {
            registry: registry(),
            env: { VIGIL_LAKEFS_ACCESS_KEY_ID: 'k', VIGIL_LAKEFS_SECRET_ACCESS_KEY: 's' },
          },
        ),
      (e: unknown) =>
        isVigilError(e) && /VIGIL_AMQP_USER/.test(e.message) && /VIGIL_AMQP_PASSWORD/.test(e.message),
    );
  });

  it('the stack preset registers the mq-bridge plugin (so the default registry has it)', () => {
    for (const preset of [stackPreset, stackMqPreset]) {
      assert.ok(
        preset.components.some((c) => c.kind === 'plugin' && c.name === 'mq-bridge'),
        preset.name,
      );
    }
  });
});
