import { describe, expect, it } from 'vitest';
import {
  passRate,
  type ValidationReport,
  validationReportHtml,
  validationReportJson,
} from './validation-report.js';

const report: ValidationReport = {
  branch: 'job-<run>',
  bronze: 10,
  silver: 6,
  duplicates: 1,
  quarantined: 3,
  expectations: [
    {
      name: 'out_of_range',
      evaluated: 8,
      failed: 2,
      bySite: { b: { evaluated: 5, failed: 2 }, a: { evaluated: 3, failed: 0 } },
    },
    { name: 'ae_"term"', evaluated: 0, failed: 0, bySite: { a: { evaluated: 0, failed: 0 } } },
    { name: 'one_enrolment', evaluated: 2, failed: 1, bySite: { a: { evaluated: 2, failed: 1 } } },
  ],
};

describe('validation report', () => {
  it('gives pass rates overall and per site, null where nothing was judged', () => {
    expect([passRate(8, 2), passRate(0, 0), passRate(3, 0)]).toEqual([0.75, null, 1]);
    const json = JSON.parse(validationReportJson(report));
    expect(json.sites).toEqual(['a', 'b']);
    expect(json.expectations[0]).toEqual({
      name: 'out_of_range',
      evaluated: 8,
      failed: 2,
      passRate: 0.75,
      bySite: {
        a: { evaluated: 3, failed: 0, passRate: 1 },
        b: { evaluated: 5, failed: 2, passRate: 0.6 },
      },
    });
    // A site an expectation has no rows for is listed as not judged.
    expect(json.expectations[2].bySite.b).toEqual({ evaluated: 0, failed: 0, passRate: null });
  });

  it('renders a readable, escaped HTML table: one row per expectation, a column per site', () => {
    const html = validationReportHtml(report);
    expect(html).toContain('<th>expectation</th><th>all sites</th><th>a</th><th>b</th>');
    expect(html).toContain('job-&lt;run&gt;');
    expect(html).toContain('<code>ae_&quot;term&quot;</code>');
    expect(html).not.toContain('ae_"term"');
    const row = html.split('\n').find((l) => l.includes('<code>out_of_range</code>'))!;
    expect(row).toContain('<td class="bad" title="2 of 8 failed">75.00%');
    expect(row).toContain('<td class="ok" title="0 of 3 failed">100.00%');
    expect(row).toContain('<td class="bad" title="2 of 5 failed">60.00%');
    expect(html.split('\n').find((l) => l.includes('one_enrolment'))).toContain('<td class="none"');
    expect(html).toContain('(reconciled)');
    expect(validationReportHtml({ ...report, silver: 5 })).toContain('NOT reconciled');
  });
});
