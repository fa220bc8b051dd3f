import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PATIENT_DAY_FEATURES } from './patient-day-features.js';
import { SILVER_TABLES } from './silver.js';
import { QUARANTINE_REASONS } from './silver-rules.js';

const doc = await readFile(fileURLToPath(new URL('../../../../docs/data-plane.md', import.meta.url)), 'utf8');

/** First cells of the Markdown table rows whose first cell is a code span, in document order. */
function firstCells(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]!);
}

describe('docs/data-plane.md', () => {
  it('lists every quarantine reason, in the order silver checks them', () => {
    const reasons = Object.keys(QUARANTINE_REASONS);
    expect(firstCells(doc).filter((cell) => reasons.includes(cell))).toEqual(reasons);
  });

  it('lists every patient-day feature with its type', () => {
    for (const feature of PATIENT_DAY_FEATURES) {
      expect(doc, feature.name).toMatch(
        new RegExp(`^\\| \`${feature.name}\` +\\| ${feature.dtype} +\\|`, 'm'),
      );
    }
    const features = new Set(PATIENT_DAY_FEATURES.map((f) => f.name));
    const tables = new Set(Object.keys(SILVER_TABLES));
    const reasons = new Set(Object.keys(QUARANTINE_REASONS));
    // Nothing in the doc's tables that the code does not produce.
    expect(
      firstCells(doc).filter((cell) => !features.has(cell) && !tables.has(cell) && !reasons.has(cell)),
    ).toEqual([]);
  });

  it('lists every silver table', () => {
    for (const table of Object.keys(SILVER_TABLES)) expect(firstCells(doc)).toContain(table);
  });
});
