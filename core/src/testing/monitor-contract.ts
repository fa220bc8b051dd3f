/**
 * Contract suite for the Monitor port. Every monitor adapter runs it: the embedded one
 * and those backed by real systems alike.
 */
import assert from 'node:assert/strict';
import type { FeatureRow, OutcomeRecord, PredictionRecord } from '../domain/prediction.js';
import { isVigilError } from '../errors.js';
import type { Monitor } from '../ports/monitor.js';
import { type Contract, type ContractFixture, skipCase } from './contract.js';

export interface MonitorFixture extends ContractFixture<Monitor> {
  /**
   * A new Monitor over the same storage, as after a process restart (the case closes
   * `impl` first). `cleanup` must also close what this returned. Without it the
   * durability case has nothing to check and passes.
   */
  reopen?: () => Promise<Monitor>;
}

const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

/** A unique model name per case, so adapters over shared backends do not collide. */
function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(performance.now() * 1000).toString(36)}`;
}

const HOUR = 60;
const DAY = 24 * HOUR;

function prediction(
  model: string,
  id: string,
  score: number,
  options: {
    version?: string;
    minute?: number;
    entityKey?: string;
  } & Pick<PredictionRecord, 'site' | 'features' | 'latencyMs' | 'fallback'> = {},
): PredictionRecord {
  const { version, minute, entityKey, ...extra } = options;
  return {
    predictionId: id,
    model,
    version: version ?? '1',
    entityKey: entityKey ?? `entity-${id}`,
    score,
    at: at(minute ?? 0),
    ...extra,
  };
}

function outcome(id: string, label: 0 | 1, minute = 60): OutcomeRecord {
  return { predictionId: id, label, at: at(minute) };
}

/**
 * A hand-made set. Positives score 0.9, 0.8, 0.6, 0.4; negatives 0.7, 0.6, 0.3, 0.2, 0.1;
 * one more prediction (0.5) has no outcome yet. Of the 20 positive/negative pairs the
 * positive ranks higher in 16 and ties in one: AUROC = 16.5 / 20 = 0.825.
 * At threshold 0.5: flagged 0.9, 0.8, 0.7, 0.6, 0.6 → TP 3, FP 2 → precision 0.6, recall 0.75.
 * Brier = (0.01+0.04+0.16+0.36 + 0.49+0.36+0.09+0.04+0.01) / 9 = 1.56 / 9.
 * Mean score over all 10 predictions = 5.1 / 10.
 */
const HAND_MADE: readonly { score: number; label?: 0 | 1 }[] = [
  { score: 0.9, label: 1 },
  { score: 0.8, label: 1 },
  { score: 0.6, label: 1 },
  { score: 0.4, label: 1 },
  { score: 0.7, label: 0 },
  { score: 0.6, label: 0 },
  { score: 0.3, label: 0 },
  { score: 0.2, label: 0 },
  { score: 0.1, label: 0 },
  { score: 0.5 },
];

async function recordHandMade(monitor: Monitor, model: string, prefix = 'p'): Promise<void> {
  await monitor.recordPredictions(HAND_MADE.map((r, i) => prediction(model, `${prefix}${i}`, r.score)));
  await monitor.recordOutcomes(
    HAND_MADE.flatMap((r, i) => (r.label === undefined ? [] : [outcome(`${prefix}${i}`, r.label)])),
  );
}

function close(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null, `${what} is null, expected ${expected}`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: expected ${expected}, got ${actual}`);
}

/** Sample value of a metric line whose labels include all of `labels`; undefined if none. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

async function rejectsInvalid(promise: Promise<unknown>, field: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isVigilError(error, 'VIGIL_MONITOR_INVALID_RECORD'), `bad ${field}: got ${String(error)}`);
    assert.ok(error.message.includes(field), `the message names '${field}': ${error.message}`);
    return true;
  });
}

export const monitorContract: Contract<MonitorFixture> = {
  port: 'monitor',
  cases: [
    {
      name: 'AUROC, precision, recall and Brier on a hand-made set equal the known values',
      async run({ impl }) {
        const model = unique('hand');
        await recordHandMade(impl, model);
        const e = await impl.evaluate({ model, threshold: 0.5 });
        assert.equal(e.predictions, 10);
        assert.equal(e.labelled, 9);
        assert.equal(e.positives, 4);
        close(e.auroc, 0.825, 'auroc (ties count half)');
        close(e.precision, 0.6, 'precision at 0.5');
        close(e.recall, 0.75, 'recall at 0.5');
        close(e.brier, 1.56 / 9, 'brier');
        close(e.meanScore, 0.51, 'mean score');
        // Average precision, from the top: 0.9 P, 0.8 P (R .5, P 1), 0.7 N, the 0.6 tie P+N
        // (R .75, P 3/5), 0.4 P (R 1, P 4/6): .25 + .25 + .25·.6 + .25·4/6.
        if (e.auprc !== undefined) close(e.auprc, 0.5 + 0.15 + 1 / 6, 'auprc');
        const strict = await impl.evaluate({ model, threshold: 0.65 });
        close(strict.precision, 2 / 3, 'precision at 0.65');
        close(strict.recall, 0.5, 'recall at 0.65');
        const none = await impl.evaluate({ model, threshold: 0.95 });
        assert.equal(none.precision, null, 'precision is null when nothing is flagged');
        assert.equal(none.recall, 0);
      },
    },
    {
      name: 'an outcome that arrives before its prediction is joined when the prediction comes',
      async run({ impl }) {
        const model = unique('early');
        await impl.recordOutcomes([outcome('early-1', 1), outcome('early-2', 0)]);
        const before = await impl.evaluate({ model });
        assert.equal(before.predictions, 0);
        assert.equal(before.labelled, 0);
        assert.equal(before.auroc, null);
        assert.equal(before.meanScore, null);
        await impl.recordPredictions([prediction(model, 'early-1', 0.8), prediction(model, 'early-2', 0.3)]);
        const after = await impl.evaluate({ model });
        assert.equal(after.predictions, 2);
        assert.equal(after.labelled, 2);
        assert.equal(after.positives, 1);
        assert.equal(after.auroc, 1);
      },
    },
    {
      name: 'recording is idempotent by predictionId',
      async run({ impl }) {
        const model = unique('idempotent');
        const predictions = [
          prediction(model, 'i1', 0.9),
          prediction(model, 'i2', 0.2),
          prediction(model, 'i3', 0.6),
        ];
        await impl.recordPredictions(predictions);
        await impl.recordPredictions(predictions);
        await impl.recordPredictions([predictions[0]!, predictions[0]!]);
        await impl.recordOutcomes([outcome('i1', 1), outcome('i2', 0)]);
        await impl.recordOutcomes([outcome('i1', 1), outcome('i2', 0), outcome('i2', 0)]);
        const e = await impl.evaluate({ model });
        assert.equal(e.predictions, 3);
        assert.equal(e.labelled, 2);
        assert.equal(e.positives, 1);
        close(e.meanScore, (0.9 + 0.2 + 0.6) / 3, 'mean score');
        if (impl.capabilities.prometheus) {
          const text = await impl.metrics();
          assert.equal(sample(text, 'vigil_predictions_total', { model, version: '1' }), 3);
          assert.equal(sample(text, 'vigil_outcomes_total', { model, version: '1', label: '1' }), 1);
          assert.equal(sample(text, 'vigil_outcomes_total', { model, version: '1', label: '0' }), 1);
        }
      },
    },
    {
      name: 'evaluate filters by version and by time window',
      async run({ impl }) {
        const model = unique('window');
        await impl.recordPredictions([
          prediction(model, 'w1', 0.9, { version: '1', minute: 0 }),
          prediction(model, 'w2', 0.1, { version: '1', minute: 10 }),
          prediction(model, 'w3', 0.8, { version: '2', minute: 20 }),
          prediction(model, 'w4', 0.7, { version: '2', minute: 30 }),
          prediction(model, 'w5', 0.2, { version: '2', minute: 40 }),
          prediction(unique('other'), 'w6', 0.5, { version: '1', minute: 20 }),
        ]);
        await impl.recordOutcomes([outcome('w1', 1), outcome('w2', 0), outcome('w3', 0), outcome('w4', 1)]);
        const all = await impl.evaluate({ model });
        assert.equal(all.predictions, 5, 'another model is not counted');
        const v2 = await impl.evaluate({ model, version: '2' });
        assert.equal(v2.predictions, 3);
        assert.equal(v2.labelled, 2);
        assert.equal(v2.auroc, 0, 'v2 ranks its negative above its positive');
        const v1 = await impl.evaluate({ model, version: '1' });
        assert.equal(v1.predictions, 2);
        assert.equal(v1.auroc, 1);
        const window = await impl.evaluate({ model, since: at(10), until: at(35) });
        assert.equal(window.predictions, 3, 'since is inclusive: minutes 10, 20 and 30');
        close(window.meanScore, (0.1 + 0.8 + 0.7) / 3, 'mean score in the window');
        const late = await impl.evaluate({ model, since: at(25) });
        assert.equal(late.predictions, 2);
        const early = await impl.evaluate({ model, until: at(5) });
        assert.equal(early.predictions, 1);
      },
    },
    {
      name: 'a rolling window ends at the latest prediction of the model, or at until',
      async run({ impl }) {
        const model = unique('rolling');
        // minutes before T0; every label known except g's; g sits exactly one day before the latest
        await impl.recordPredictions([
          prediction(model, 'ra', 0.9, { minute: -8 * DAY, site: 'A' }),
          prediction(model, 'rb', 0.2, { minute: -3 * DAY, site: 'A' }),
          prediction(model, 'rc', 0.8, { minute: -2 * DAY, site: 'B' }),
          prediction(model, 'rd', 0.3, { minute: -12 * HOUR, site: 'A' }),
          prediction(model, 're', 0.7, { minute: -HOUR, site: 'B' }),
          prediction(model, 'rf', 0.6, { minute: 0, site: 'A' }),
          prediction(model, 'rg', 0.1, { minute: -DAY, site: 'A' }),
          prediction(unique('later'), 'rz', 0.5, { minute: 5 * DAY }),
        ]);
        await impl.recordOutcomes([
          outcome('ra', 0),
          outcome('rb', 0),
          outcome('rc', 1),
          outcome('rd', 1),
          outcome('re', 0),
          outcome('rf', 1),
        ]);
        const all = await impl.evaluate({ model });
        assert.equal(all.predictions, 7);
        close(all.auroc, 4 / 9, 'all-time auroc (positives .8 .3 .6 vs negatives .9 .7 .2)');
        const day = await impl.evaluate({ model, window: 'day' });
        assert.equal(
          day.predictions,
          3,
          'the last day is (latest − 24 h, latest]: d, e, f, not g at exactly −24 h',
        );
        assert.equal(day.auroc, 0, 'positives .3 and .6 both rank under the negative .7');
        const week = await impl.evaluate({ model, window: 'week' });
        assert.equal(week.predictions, 6, 'the last week leaves out a, 8 days back');
        assert.equal(week.labelled, 5);
        close(week.auroc, 4 / 6, 'weekly auroc');
        const past = await impl.evaluate({ model, window: 'day', until: at(-DAY) });
        assert.equal(past.predictions, 1, 'a day ending at until is [until − 24 h, until): c only');
        close(past.meanScore, 0.8, 'mean score of c');
        const narrowed = await impl.evaluate({ model, window: 'week', since: at(-2 * DAY) });
        assert.equal(narrowed.predictions, 5, 'since narrows the window: c, d, e, f, g');
      },
    },
    {
      name: 'evaluate filters by site',
      async run({ impl }) {
        const model = unique('site');
        await impl.recordPredictions([
          prediction(model, 's1', 0.2, { site: 'A' }),
          prediction(model, 's2', 0.3, { site: 'A' }),
          prediction(model, 's3', 0.6, { site: 'A' }),
          prediction(model, 's4', 0.8, { site: 'B' }),
          prediction(model, 's5', 0.7, { site: 'B' }),
          prediction(model, 's6', 0.4),
        ]);
        await impl.recordOutcomes([
          outcome('s1', 0),
          outcome('s2', 1),
          outcome('s3', 1),
          outcome('s4', 0),
          outcome('s5', 1),
          outcome('s6', 0),
        ]);
        const a = await impl.evaluate({ model, site: 'A' });
        assert.equal(a.predictions, 3);
        assert.equal(a.auroc, 1, 'site A ranks both positives above its negative');
        const b = await impl.evaluate({ model, site: 'B' });
        assert.equal(b.predictions, 2);
        assert.equal(b.auroc, 0, 'site B ranks its negative first');
        const none = await impl.evaluate({ model, site: 'C' });
        assert.equal(none.predictions, 0);
        const all = await impl.evaluate({ model });
        assert.equal(all.predictions, 6, 'no site filter: every prediction, with or without a site');
        close(all.auroc, 5 / 9, 'all sites together');
      },
    },
    {
      name: 'fallback share and latency p50/p99 (nearest rank) come from the predictions',
      async run({ impl }) {
        const model = unique('latency');
        const latencies = [40, 5, 200, 10, 20];
        await impl.recordPredictions([
          ...latencies.map((latencyMs, i) =>
            prediction(model, `l${i}`, 0.5, { latencyMs, fallback: i === 2 }),
          ),
          prediction(model, 'l-none', 0.5),
        ]);
        const e = await impl.evaluate({ model });
        assert.equal(e.predictions, 6);
        if (e.fallbackRate === undefined || e.latencyP50Ms === undefined)
          skipCase('this Monitor does not report fallbackRate and latency (optional Evaluation fields)');
        close(e.fallbackRate, 1 / 6, 'fallback rate over all six predictions');
        assert.equal(e.latencyP50Ms, 20, 'p50: the 3rd of 5 latencies');
        assert.equal(e.latencyP99Ms, 200, 'p99: the 5th of 5 latencies');
        const without = await impl.evaluate({ model: unique('no-latency') });
        assert.equal(without.latencyP50Ms ?? null, null);
      },
    },
    {
      name: 'ECE and the reliability curve on a hand-made set equal the known values',
      requires: ['calibration'],
      async run({ impl }) {
        const model = unique('calibration');
        await recordHandMade(impl, model);
        const e = await impl.evaluate({ model });
        // Every labelled score has a 10-wide bin of its own except the 0.6 pair (one P, one N):
        // |gap| per bin: .1 .2 .3 (negatives .1 .2 .3), .6 (positive .4), 2 × .1 (the .6 pair),
        // .7 (negative .7), .2 (positive .8), .1 (positive .9); the unlabelled .5 is left out.
        close(e.ece ?? null, 2.4 / 9, 'ece');
        assert.deepEqual(
          e.calibration?.map((b) => [Math.round(b.meanPredicted * 1e9) / 1e9, b.observedRate, b.count]),
          [
            [0.1, 0, 1],
            [0.2, 0, 1],
            [0.3, 0, 1],
            [0.4, 1, 1],
            [0.6, 0.5, 2],
            [0.7, 0, 1],
            [0.8, 1, 1],
            [0.9, 1, 1],
          ],
        );
        const empty = await impl.evaluate({ model: unique('uncalibrated') });
        assert.equal(empty.ece, null);
        assert.deepEqual(empty.calibration, []);
      },
    },
    {
      name: 'drift flags a shifted feature and the shifted scores, not the unchanged features',
      requires: ['drift'],
      async run({ impl }) {
        assert.ok(impl.drift, 'capabilities.drift is true but drift() is missing');
        const model = unique('drift');
        const rows = 200;
        const records: PredictionRecord[] = [];
        for (let i = 0; i < rows; i++) {
          const spread = ((i * 37) % rows) / 10; // a permutation of 0, 0.1, …, 19.9
          const base = { age: 40 + spread, lactate: 1 + spread / 10, sex: i % 2, ward: i % 4 };
          const score = (i % 50) / 100 + 0.1; // 0.1 … 0.59
          records.push(
            prediction(model, `ref-${i}`, score, {
              minute: -14 * DAY + i * 30,
              features: { ...base, hr: 70 + spread, bmi: 25 },
            }),
            prediction(model, `cur-${i}`, Math.min(1, score + 0.35), {
              minute: -5 * DAY + i * 30,
              features: { ...base, hr: 85 + spread, bmi: null },
            }),
          );
        }
        await impl.recordPredictions(records);
        const reference = { since: at(-14 * DAY), until: at(-7 * DAY) };
        const report = await impl.drift({ model, reference, window: 'week' });
        assert.equal(report.referencePredictions, rows);
        assert.equal(report.currentPredictions, rows);
        const byName = new Map(report.features.map((f) => [f.feature, f]));
        assert.deepEqual([...byName.keys()].sort(), ['age', 'hr', 'lactate', 'sex', 'ward']);
        assert.deepEqual(
          report.skipped.map((s) => s.feature),
          ['bmi'],
          'bmi has no value in the current window',
        );
        const hr = byName.get('hr')!;
        assert.equal(hr.test, 'ks', "Evidently's default for 200 numerical rows with > 5 values");
        assert.ok(
          hr.drifted && hr.pValue !== null && hr.pValue < 1e-10,
          `hr shifted by 15: p = ${hr.pValue}`,
        );
        for (const name of ['age', 'lactate', 'sex', 'ward']) {
          const f = byName.get(name)!;
          assert.equal(f.drifted, false, `${name} is unchanged`);
          close(f.pValue, 1, `${name} p-value (identical samples)`);
        }
        assert.equal(byName.get('sex')!.test, 'z', 'two values: Z-test');
        assert.equal(byName.get('ward')!.test, 'chisquare', 'four values: chi-square');
        close(report.driftShare, 1 / 5, 'drift share');
        assert.equal(report.driftShareThreshold, 0.5);
        assert.equal(report.datasetDrift, false);
        assert.ok(
          report.scorePsi !== null && report.scorePsi > 0.1,
          `scores moved up 0.35: PSI ${report.scorePsi}`,
        );

        const hrOnly = await impl.drift({ model, reference, window: 'week', features: ['hr', 'age'] });
        close(hrOnly.driftShare, 0.5, 'drift share of hr and age');
        assert.equal(hrOnly.datasetDrift, true, 'a share of 0.5 is dataset drift (≥)');

        const same = await impl.drift({ model, reference, since: reference.since, until: reference.until });
        assert.equal(same.driftShare, 0, 'the reference against itself');
        close(same.scorePsi, 0, 'score PSI of the reference against itself');
      },
    },
    {
      name: 'features sent as feature rows drift exactly as the same values by name, also after a reopen',
      requires: ['drift'],
      async run({ impl, reopen }) {
        assert.ok(impl.drift, 'capabilities.drift is true but drift() is missing');
        const byName = unique('by-name');
        const byRow = unique('by-row');
        const names = ['hr', 'lactate', 'ward'];
        const named: PredictionRecord[] = [];
        const rows: PredictionRecord[] = [];
        // One block per "answer" of 10 rows, rows of one answer sharing it, as a server emits them.
        for (let answer = 0; answer < 40; answer++) {
          const block = new Float32Array(10 * names.length + 2);
          for (let r = 0; r < 10; r++) {
            const i = answer * 10 + r;
            const minute = (i < 200 ? -14 * DAY : -5 * DAY) + (i % 200) * 30;
            const hr = 70 + ((i * 37) % 200) / 10 + (i < 200 ? 0 : 12);
            const lactate = i % 7 === 0 ? null : 1 + ((i * 11) % 50) / 10;
            const ward = i % 4;
            const score = (i % 50) / 100 + (i < 200 ? 0.1 : 0.3);
            // float32 values on both sides: the block holds float32
            const values = [Math.fround(hr), lactate === null ? null : Math.fround(lactate), ward];
            const offset = 2 + r * names.length;
            values.forEach((v, k) => {
              block[offset + k] = v ?? Number.NaN;
            });
            named.push(
              prediction(byName, `n-${i}`, score, {
                minute,
                features: Object.fromEntries(names.map((n, k) => [n, values[k]!])),
              }),
            );
            rows.push(
              prediction(byRow, `r-${i}`, score, { minute, features: { names, values: block, offset } }),
            );
          }
        }
        await impl.recordPredictions(named);
        await impl.recordPredictions(rows);
        // The server may reuse its blocks once the records are taken: the monitor keeps copies.
        for (const r of rows) (r.features as FeatureRow).values.fill(0);
        const reference = { since: at(-14 * DAY), until: at(-7 * DAY) };
        const expected = await impl.drift({ model: byName, reference, window: 'week' });
        assert.ok(
          expected.features.find((f) => f.feature === 'hr')?.drifted,
          'hr moved up by 12 in the current week',
        );
        assert.deepEqual(await impl.drift({ model: byRow, reference, window: 'week' }), expected);
        if (reopen) {
          await impl.close();
          const again = await reopen();
          assert.deepEqual(await again.drift!({ model: byRow, reference, window: 'week' }), expected);
        }
      },
    },
    {
      name: 'invalid records are rejected with VIGIL_MONITOR_INVALID_RECORD naming the field',
      async run({ impl }) {
        const model = unique('invalid');
        const good = prediction(model, 'g1', 0.4);
        await rejectsInvalid(impl.recordPredictions([good, { ...prediction(model, 'b1', 1.5) }]), 'score');
        await rejectsInvalid(impl.recordPredictions([prediction(model, 'b2', -0.1)]), 'score');
        await rejectsInvalid(impl.recordPredictions([prediction(model, 'b3', Number.NaN)]), 'score');
        await rejectsInvalid(
          impl.recordPredictions([{ ...prediction(model, 'b4', 0.3), at: new Date('nope') }]),
          'at',
        );
        await rejectsInvalid(
          impl.recordPredictions([{ ...prediction(model, 'b5', 0.3), predictionId: '' }]),
          'predictionId',
        );
        await rejectsInvalid(
          impl.recordPredictions([{ ...prediction(model, 'b6', 0.3), model: '' }]),
          'model',
        );
        await rejectsInvalid(impl.recordOutcomes([{ ...outcome('g1', 1), label: 2 as 0 }]), 'label');
        await rejectsInvalid(impl.recordOutcomes([{ ...outcome('g1', 1), at: new Date(Number.NaN) }]), 'at');
        const e = await impl.evaluate({ model });
        assert.equal(e.predictions, 0, 'a rejected batch records nothing, not even its valid records');
      },
    },
    {
      name: 'metrics text has counters labelled by model and version, never an entity key',
      requires: ['prometheus'],
      async run({ impl }) {
        const model = unique('prom');
        await impl.recordPredictions([
          prediction(model, 'pid-secret-1', 0.9, { entityKey: 'PATIENT-0042-XYZ' }),
          prediction(model, 'pid-secret-2', 0.3, { entityKey: 'PATIENT-0043-XYZ' }),
          prediction(model, 'pid-secret-3', 0.6, { entityKey: 'PATIENT-0044-XYZ', version: '2' }),
        ]);
        await impl.recordOutcomes([outcome('pid-secret-1', 1), outcome('pid-secret-2', 0)]);
        await impl.evaluate({ model, version: '1' });
        const text = await impl.metrics();
        assert.equal(sample(text, 'vigil_predictions_total', { model, version: '1' }), 2);
        assert.equal(sample(text, 'vigil_predictions_total', { model, version: '2' }), 1);
        assert.equal(sample(text, 'vigil_outcomes_total', { model, version: '1', label: '1' }), 1);
        assert.equal(sample(text, 'vigil_prediction_score_count', { model, version: '1' }), 2);
        assert.equal(sample(text, 'vigil_model_auroc', { model, version: '1' }), 1);
        assert.ok(!text.includes('PATIENT-00'), 'entity keys never appear in metrics');
        assert.ok(!text.includes('pid-secret'), 'prediction ids never appear in metrics');
      },
    },
    {
      name: 'GET /metrics serves the exposition over HTTP; other paths are 404',
      requires: ['prometheus'],
      async run({ impl }) {
        const model = unique('http');
        await impl.recordPredictions([prediction(model, 'h1', 0.7)]);
        const { url } = await impl.listen({ port: 0 });
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+/);
        const response = await fetch(new URL('/metrics', url));
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
        assert.equal(sample(await response.text(), 'vigil_predictions_total', { model, version: '1' }), 1);
        const missing = await fetch(new URL('/elsewhere', url));
        assert.equal(missing.status, 404);
        await missing.arrayBuffer();
      },
    },
    {
      name: 'records survive a reopen, and an early outcome is still joined afterwards',
      async run({ impl, reopen }) {
        if (!reopen) skipCase('the fixture provides no reopen() (no durable state)');
        const model = unique('durable');
        await recordHandMade(impl, model);
        await impl.recordOutcomes([outcome('late', 1)]);
        const before = await impl.evaluate({ model });
        await impl.close();

        const again = await reopen();
        assert.deepEqual(await again.evaluate({ model }), before);
        await again.recordPredictions([prediction(model, 'p0', 0.9)]);
        assert.equal(
          (await again.evaluate({ model })).predictions,
          10,
          'a re-recorded prediction is not new',
        );
        await again.recordPredictions([prediction(model, 'late', 0.95)]);
        const after = await again.evaluate({ model });
        assert.equal(after.predictions, 11);
        assert.equal(after.labelled, 10);
        assert.equal(after.positives, 5);
      },
    },
  ],
};
