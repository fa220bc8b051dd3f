import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteSpec } from '@vigil/core';
import { isVigilError } from '@vigil/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CanaryController } from '../canary/canary-controller.js';
import { dnsName, seldonPlan, toSeldonExperiment, toSeldonPlan } from './seldon-experiment.js';

const server = { async route(_name: string, _spec: RouteSpec) {} };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-seldon-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Seldon Core v2 export', () => {
  it('a running canary: default = champion, candidates at the step weights, names from modelNames', async () => {
    const c = new CanaryController({ server, dir, config: { minRequests: 100 } });
    await c.start('Adverse_Event', 'v7', 'v8', 0);
    const yaml = toSeldonExperiment(c.state!, {
      namespace: 'seldon-mesh',
      modelNames: { v7: 'ae-v7', v8: 'ae-v8' },
    });
    expect(parse(yaml)).toEqual({
      apiVersion: 'mlops.seldon.io/v1alpha1',
      kind: 'Experiment',
      metadata: { name: 'adverse-event-rollout', namespace: 'seldon-mesh' },
      spec: {
        default: 'ae-v7',
        candidates: [
          { name: 'ae-v8', weight: 5 },
          { name: 'ae-v7', weight: 95 },
        ],
      },
    });
  });

  it('shadow: the champion alone with the challenger as a 100 % mirror; the plan has that one manifest', async () => {
    const c = new CanaryController({ server, dir, config: { mode: 'shadow' } });
    await c.start('ae', 'v1', 'v2', 0);
    expect(parse(toSeldonExperiment(c.state!)).spec).toEqual({
      default: 'ae-v1',
      candidates: [{ name: 'ae-v1', weight: 100 }],
      mirror: { name: 'ae-v2', percent: 100 },
    });
    expect(seldonPlan(c.state!)).toHaveLength(1);
  });

  it('the plan is one YAML document per step', async () => {
    const c = new CanaryController({ server, dir, config: { steps: [20, 60, 100] } });
    await c.start('ae', 'v1', 'v2', 0);
    const docs = parseAllDocuments(toSeldonPlan(c.state!)).map((d) => d.toJS());
    expect(docs.map((d) => d.spec.candidates)).toEqual([
      [
        { name: 'ae-v2', weight: 20 },
        { name: 'ae-v1', weight: 80 },
      ],
      [
        { name: 'ae-v2', weight: 60 },
        { name: 'ae-v1', weight: 40 },
      ],
      [
        { name: 'ae-v2', weight: 100 },
        { name: 'ae-v1', weight: 0 },
      ],
    ]);
  });

  it('makes names DNS-1123 safe and refuses a name with nothing usable', () => {
    expect(dnsName('AE Model/v1.2')).toBe('ae-model-v1-2');
    expect(dnsName(`${'x'.repeat(70)}`)).toHaveLength(63);
    try {
      dnsName('___');
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
    }
  });
});
