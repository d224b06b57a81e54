// NODELEAK_REPORT_DIR=dir: each check's report as JSON, and an SVG plot of each judged metric's growth against the
// calls, one pair of files per check, named after it (for CI artifacts, and for people who would rather look).
import fs from 'node:fs';
import path from 'node:path';
import { formatNumber } from './numbers';
import type { MetricName } from './decision';
import type { LeakReportBase } from './report';
import { formatBytes } from './report';

export const REPORT_DIR_ENV = 'NODELEAK_REPORT_DIR';

/** A file name from a check's label: `Class.testName` → `Class.testName`, anything unsafe → `_`. */
export function reportFileName(label: string): string {
  return label.replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '').slice(0, 120) || 'check';
}

const WIDTH = 480;
const HEIGHT = 180;
const MARGIN = { left: 80, right: 16, top: 28, bottom: 36 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char] as string);
}

/** One panel: cumulative growth of `metric` (bytes) against cumulative calls, a point per round end. */
function panel(report: LeakReportBase, metric: MetricName, top: number, leaking: boolean): string {
  const points: [number, number][] = [[0, 0]];
  for (const round of report.rounds) {
    const [calls, growth] = points[points.length - 1];
    points.push([calls + round.calls, growth + (round.growth[metric] ?? 0)]);
  }
  const maxCalls = Math.max(1, ...points.map(([calls]) => calls));
  const low = Math.min(0, ...points.map(([, growth]) => growth));
  const high = Math.max(1, ...points.map(([, growth]) => growth));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (calls: number): number => MARGIN.left + (calls / maxCalls) * plotWidth;
  const y = (growth: number): number => top + MARGIN.top + (1 - (growth - low) / (high - low)) * plotHeight;
  const line = points.map(([calls, growth]) => `${x(calls).toFixed(1)},${y(growth).toFixed(1)}`).join(' ');
  const colour = leaking ? '#c0392b' : '#2c7a3f';
  return [
    `<g class="metric" data-metric="${metric}">`,
    `<text x="${MARGIN.left}" y="${top + 18}" font-size="13" font-weight="bold">${escapeXml(metric)}: growth against calls</text>`,
    `<line x1="${MARGIN.left}" y1="${y(0)}" x2="${WIDTH - MARGIN.right}" y2="${y(0)}" stroke="#999" stroke-dasharray="3,3"/>`,
    `<line x1="${MARGIN.left}" y1="${top + MARGIN.top}" x2="${MARGIN.left}" y2="${top + HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${top + HEIGHT - MARGIN.bottom}" x2="${WIDTH - MARGIN.right}" y2="${top + HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<text x="${MARGIN.left - 6}" y="${y(high) + 4}" font-size="11" text-anchor="end">${escapeXml(formatBytes(high))}</text>`,
    `<text x="${MARGIN.left - 6}" y="${y(low) + 4}" font-size="11" text-anchor="end">${escapeXml(formatBytes(low))}</text>`,
    `<text x="${WIDTH - MARGIN.right}" y="${top + HEIGHT - 10}" font-size="11" text-anchor="end">${formatNumber(maxCalls)} calls</text>`,
    `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${line}"/>`,
    ...points.slice(1).map(([calls, growth]) => `<circle cx="${x(calls).toFixed(1)}" cy="${y(growth).toFixed(1)}" r="3" fill="${colour}"/>`),
    '</g>',
  ].join('\n');
}

/** The SVG: a title line, then one panel per judged metric (the leaking one drawn in red). */
function reportSvg(report: LeakReportBase, label: string, verdict: string, leakingMetric: MetricName | null): string {
  const metrics = report.judged.filter((metric) => report.metrics.includes(metric));
  const height = 24 + metrics.length * HEIGHT;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(`${label}: ${verdict}`)}</title>`,
    `<text x="8" y="16" font-size="13">${escapeXml(`${label}: ${verdict} (${formatNumber(report.calls)} calls, ${report.quiet ? 'quiet' : 'plain'} process)`)}</text>`,
    ...metrics.map((metric, index) => panel(report, metric, 24 + index * HEIGHT, metric === leakingMetric)),
    '</svg>',
    '',
  ].join('\n');
}

/**
 * mkdir -p. Node's own (`recursive: true`) loops forever, on Node 20 to 24, where mkdir fails with ENOENT under a folder
 * that exists, as under /proc.
 */
function makeFolders(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    makeFolders(parent);
    fs.mkdirSync(dir);
  }
}

/** Writes `<dir>/<label>.json` (and `.svg` when rounds were measured); returns the paths written. */
export function writeReport(dir: string, label: string, verdict: string, report: LeakReportBase, leakingMetric: MetricName | null): string[] {
  makeFolders(path.resolve(dir));
  const base = path.join(dir, reportFileName(label));
  const json = `${base}.json`;
  fs.writeFileSync(json, `${JSON.stringify({ label, verdict, ...report }, null, 2)}\n`);
  if (report.rounds.length === 0) return [json];
  fs.writeFileSync(`${base}.svg`, reportSvg(report, label, verdict, leakingMetric));
  return [json, `${base}.svg`];
}
