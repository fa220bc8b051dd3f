import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalLakeStore } from '@vigil/adapter-local-lake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BronzeRecord } from '../medallion/bronze.js';
import { createMedallion, type Medallion } from '../medallion/medallion.js';
import type { SilverResult } from '../medallion/silver.js';
import { type SimulationResult, simulateTrial } from '../simulator/simulate-trial.js';
import { expectedFromInjected, reconcile } from './reconciliation.js';

const encoder = new TextEncoder();
const START = Date.UTC(2026, 0, 5);

function toRecords(events: SimulationResult['events']): BronzeRecord[] {
  const next = new Map<string, number>();
  return events.map((e, i) => {
    const partition = Number(e.key.slice(-2)) - 1;
    const offset = next.get(`${e.topic}/${partition}`) ?? 0;
    next.set(`${e.topic}/${partition}`, offset + 1);
    return {
      topic: e.topic,
      partition,
      offset,
      key: e.key,
      value: encoder.encode(e.value),
      timestamp: START + i,
    };
  });
}

let dir: string;
let lake: LocalLakeStore;
let medallion: Medallion;
let sim: SimulationResult;
let silver: SilverResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-reconcile-'));
  lake = await LocalLakeStore.open({ root: join(dir, 'lake'), defaultBranch: 'main' });
  medallion = await createMedallion({ lake, workdir: join(dir, 'work'), threads: 1 });
  sim = simulateTrial({ seed: 23, patients: 40, days: 30, sites: 3, mess: { resendRate: 0.02 } });
  const records = toRecords(sim.events);
  await medallion.writeBronze('main', records);
  silver = await medallion.buildSilver('main');
}, 60_000);

afterAll(async () => {
  await medallion?.close();
  await lake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('reconcile', () => {
  it('balances a real feed against the Source count and the ground truth, overall and per site', () => {
    const r = reconcile({ in: sim.events.length, silver, injected: sim.injected });
    expect(r.problems).toEqual([]);
    expect(r.balanced).toBe(true);
    expect(r).toMatchObject({
      in: sim.events.length,
      bronze: sim.events.length,
      silver: r.expected?.silver,
      duplicates: sim.injected.duplicates,
      quarantined: r.expected?.quarantined,
    });
    expect(r.expected?.reasons.duplicate_event_id).toBe(sim.injected.resent);
    expect(Object.keys(r.bySite)).toEqual(Object.keys(sim.injected.bySite));
    for (const site of Object.values(r.bySite)) expect(site.balanced).toBe(true);
  });

  it('is unbalanced when the Source saw one event more than bronze holds', () => {
    const r = reconcile({ in: sim.events.length + 1, silver });
    expect(r.balanced).toBe(false);
    expect(r.problems).toEqual([
      `bronze vs events in at the Source: ${sim.events.length}, expected ${sim.events.length + 1}`,
    ]);
  });

  it('is unbalanced when any bucket is one off the ground truth, even with the totals intact', () => {
    // One resent copy counted as a cross-origin duplicate instead: bronze still adds up.
    const shifted = { ...silver, duplicates: silver.duplicates + 1, quarantined: silver.quarantined - 1 };
    const r = reconcile({ in: sim.events.length, silver: shifted, injected: sim.injected });
    expect(r.balanced).toBe(false);
    expect(r.problems).toContain(`duplicates: ${silver.duplicates + 1}, expected ${sim.injected.duplicates}`);
    // One quarantined row filed under the wrong reason.
    const misfiled = {
      ...silver,
      reasons: {
        ...silver.reasons,
        invalid_json: (silver.reasons.invalid_json ?? 0) - 1,
        wrong_type: (silver.reasons.wrong_type ?? 0) + 1,
      },
    };
    const m = reconcile({ in: sim.events.length, silver: misfiled, injected: sim.injected });
    expect(m.balanced).toBe(false);
    expect(m.problems.map((p) => p.split(':')[0])).toEqual([
      'quarantine reason invalid_json',
      'quarantine reason wrong_type',
    ]);
  });

  it('is unbalanced per site when a site loses an event', () => {
    const site = Object.keys(silver.bySite)[0]!;
    const counts = silver.bySite[site]!;
    const bySite = {
      ...silver.bySite,
      [site]: { ...counts, bronze: counts.bronze - 1, silver: counts.silver - 1 },
    };
    const r = reconcile({ in: sim.events.length, silver: { ...silver, bySite }, injected: sim.injected });
    expect(r.balanced).toBe(false);
    expect(r.bySite[site]?.balanced).toBe(false);
    expect(Object.values(r.bySite).filter((s) => !s.balanced)).toHaveLength(1);
  });

  it('derives the expected buckets from the injected counts', () => {
    const e = expectedFromInjected(sim.injected);
    const malformed = Object.values(sim.injected.malformed).reduce((a, b) => a + b, 0);
    expect(e.silver + e.duplicates + e.quarantined).toBe(sim.injected.events);
    expect(e.quarantined).toBe(sim.injected.resent + malformed);
    expect(Object.values(e.reasons).reduce((a, b) => a + b, 0)).toBe(e.quarantined);
  });
});
