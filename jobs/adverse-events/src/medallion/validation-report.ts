import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExpectationResult } from './silver.js';

/** What one silver build found, as the validation report states it. */
export interface ValidationReport {
  /** Lake branch silver was built on. */
  branch: string;
  bronze: number;
  silver: number;
  duplicates: number;
  quarantined: number;
  expectations: readonly ExpectationResult[];
}

/** Where the report was written. */
export interface ValidationReportPaths {
  json: string;
  html: string;
}

/** Share of judged rows that passed; null when none was judged. */
export function passRate(evaluated: number, failed: number): number | null {
  return evaluated === 0 ? null : (evaluated - failed) / evaluated;
}

/** The report as JSON: totals, then each expectation with its pass rate overall and per site. */
export function validationReportJson(report: ValidationReport): string {
  const sites = siteNames(report);
  return `${JSON.stringify(
    {
      branch: report.branch,
      bronze: report.bronze,
      silver: report.silver,
      duplicates: report.duplicates,
      quarantined: report.quarantined,
      sites,
      expectations: report.expectations.map((e) => ({
        name: e.name,
        evaluated: e.evaluated,
        failed: e.failed,
        passRate: passRate(e.evaluated, e.failed),
        bySite: Object.fromEntries(
          sites.map((site) => {
            const s = e.bySite[site] ?? { evaluated: 0, failed: 0 };
            return [site, { ...s, passRate: passRate(s.evaluated, s.failed) }];
          }),
        ),
      })),
    },
    null,
    2,
  )}\n`;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const percent = (rate: number | null) =>
  rate === null ? '—' : `${(Math.floor(rate * 10_000) / 100).toFixed(2)}%`;

function cell(evaluated: number, failed: number): string {
  const rate = passRate(evaluated, failed);
  const cls = rate === null ? 'none' : failed === 0 ? 'ok' : rate >= 0.99 ? 'warn' : 'bad';
  const detail =
    evaluated === 0
      ? 'not judged'
      : `${failed.toLocaleString('en-US')} of ${evaluated.toLocaleString('en-US')} failed`;
  return `<td class="${cls}" title="${escapeHtml(detail)}">${percent(rate)}<br><small>${escapeHtml(detail)}</small></td>`;
}

/** The report as a page a person can read: one row per expectation, a column per site. */
export function validationReportHtml(report: ValidationReport): string {
  const sites = siteNames(report);
  const head = ['expectation', 'all sites', ...sites].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = report.expectations
    .map((e) => {
      const perSite = sites.map((site) => {
        const s = e.bySite[site] ?? { evaluated: 0, failed: 0 };
        return cell(s.evaluated, s.failed);
      });
      return `<tr><th scope="row"><code>${escapeHtml(e.name)}</code></th>${cell(e.evaluated, e.failed)}${perSite.join('')}</tr>`;
    })
    .join('\n');
  const reconciled = report.silver + report.duplicates + report.quarantined === report.bronze;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Vigil validation report — ${escapeHtml(report.branch)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; vertical-align: top; }
th[scope=row] { text-align: left; }
td.ok { background: #e8f5e9; } td.warn { background: #fff8e1; } td.bad { background: #ffebee; } td.none { color: #888; }
small { color: #555; }
</style>
</head>
<body>
<h1>Validation report</h1>
<p>Silver built on <code>${escapeHtml(report.branch)}</code>: ${report.bronze.toLocaleString('en-US')} bronze rows →
${report.silver.toLocaleString('en-US')} in silver, ${report.duplicates.toLocaleString('en-US')} duplicates,
${report.quarantined.toLocaleString('en-US')} quarantined (${reconciled ? 'reconciled' : 'NOT reconciled'}).</p>
<p>Each check judges the rows it applies to that no earlier check quarantined; a failing row is quarantined
under the check's name. Cells give the pass rate and how many rows failed.</p>
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
</body>
</html>
`;
}

function siteNames(report: ValidationReport): string[] {
  return [...new Set(report.expectations.flatMap((e) => Object.keys(e.bySite)))].sort();
}

/** Write `validation.json` and `validation.html` into `dir` (created). */
export async function writeValidationReport(
  dir: string,
  report: ValidationReport,
): Promise<ValidationReportPaths> {
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, 'validation.json'), html: join(dir, 'validation.html') };
  await writeFile(paths.json, validationReportJson(report));
  await writeFile(paths.html, validationReportHtml(report));
  return paths;
}
