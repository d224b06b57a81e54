import path from 'node:path';
import { formatNumber, formatRate } from './numbers';
import type { MetricName } from './decision';
import type { Frame } from './symbolize';
import type { LeakSite } from './where';

/** One measured round: how many calls it made and how much each metric grew over them. */
export interface RoundReport {
  round: number;
  calls: number;
  /** after − before per metric, bytes (may be < 0). */
  growth: Partial<Record<MetricName, number>>;
  /** Wall time of the round's calls and settling, ms. */
  ms: number;
  /** Growth read after one collection, not settled: an upper bound (later collections only free more of what the
   * calls left). Only a clean check's last round. */
  upperBound?: true;
}

/** What every leak report holds, clean or not. */
export interface LeakReportBase {
  /** Calls made in the measured rounds (warm-up and the resource check's call not included). */
  calls: number;
  warmupCalls: number;
  rounds: RoundReport[];
  /** Metrics that were measured: the columns of the table (empty when the 'memory' checker is off). */
  metrics: MetricName[];
  /** Metrics the verdict was given on (a subset of `metrics`). */
  judged: MetricName[];
  /** Whether the process was quiet (see `npx nodeleak --help`). */
  quiet: boolean;
  /** Wall time of the whole check, ms. */
  ms: number;
  /** The decision rule's own words for its verdict. */
  reason: string;
  /** Whether the C heap (heap or mmap) was among the judged metrics. */
  cHeapJudged: boolean;
  /**
   * Smallest leak a clean verdict rules out, bytes per call, per judged metric: clean means every upperBytesPerCall is
   * at most this (the C heap's depends on the allocator; see docs/decision.md). Empty when nothing was measured.
   */
  resolution: Partial<Record<MetricName, number>>;
  /**
   * Noise floor of one round, bytes, per judged metric: how far a round may move without counting as growth. Empty when
   * nothing was measured.
   */
  noise: Partial<Record<MetricName, number>>;
  /**
   * Plain processes only: the largest move of a no-op's round measured in this process, per judged metric. A floor is
   * at least 1.5 times it, so a machine noisier than the fixed floors allow (many cores) widens them.
   */
  noOpMoves?: Partial<Record<MetricName, number>>;
  /**
   * Allocators the process carries besides the one the C heap figures read (an addon's own mimalloc or jemalloc; name
   * 'unknown', how 'pages': an addon that imports madvise, as allocators that manage their own pages do; how 'gone': an
   * addon deleted or replaced on disk since it was loaded, which could not be read), and the process metric judged
   * because of them (null when the user named the metrics).
   */
  ownAllocators?: { name: string; object: string; how: OwnAllocatorHow; judged: MetricName | null }[];
}

/** How an allocator of its own is in the process: see OwnAllocator in own-allocators.ts. */
export type OwnAllocatorHow = 'linked' | 'built in' | 'pages' | 'gone';

/**
 * What checkLeak() resolves with. 'inconclusive' only with allowInconclusive: the budget ended before every judged
 * metric was bounded (see `undecided`); without that option such a check rejects with InconclusiveError.
 */
export interface LeakReport extends LeakReportBase {
  verdict: 'clean' | 'inconclusive';
  /** Estimated bytes per call per metric (≤ 0 or tiny when clean). */
  bytesPerCall: Partial<Record<MetricName, number>>;
  /** Upper bound the last round puts on a leak, per metric, bytes per call. */
  upperBytesPerCall: Partial<Record<MetricName, number>>;
  /** Metrics the call budget ran out on before a leak could be ruled out to the rule's resolution. */
  undecided: MetricName[];
}

interface LeakDetails {
  metric: MetricName;
  bytesPerCall: number;
  leakedBytes: number;
  confirmed: boolean;
  inSteps: boolean;
  sustainedBytes: number;
  sustainedCalls: number;
  sites?: LeakSite[];
  profiledCalls?: number;
  profiled?: boolean;
}

/** How many sites, and frames of each, the message shows; `err.report.sites` has them all. */
const SITES_SHOWN = 5;
const FRAMES_SHOWN = 3;

/** A demangled C++ name without its parameter list: `ns::Class::method(int) const` → `ns::Class::method`. */
function withoutParameters(name: string): string {
  const trimmed = name.replace(/\s+const$/, '');
  if (!trimmed.endsWith(')')) return name;
  let depth = 0;
  for (let index = trimmed.length - 1; index >= 0; index--) {
    if (trimmed[index] === ')') depth = depth + 1;
    if (trimmed[index] === '(') depth = depth - 1;
    if (depth === 0) return index > 0 ? trimmed.slice(0, index) : name;
  }
  return name;
}

/** A frame's function, or where it is in its object (the address addr2line takes) when no symbol names it. */
function frameText(frame: Frame): string {
  const name = frame.function ? withoutParameters(frame.function) : (frame.offset ?? frame.address);
  if (frame.file) return `${name} (${path.basename(frame.file)}${frame.line ? `:${frame.line}` : ''})`;
  return frame.object ? `${name} [${path.basename(frame.object)}]` : name;
}

/**
 * A site's line: FRAMES_SHOWN frames from the first in the user's code, led by the node function it called when it
 * called one: what the user's code asked node for, such as a `napi_create_reference` never deleted, which a stripped
 * addon's addresses alone do not say.
 */
function siteText(site: LeakSite): string {
  return site.frames.slice(site.called ?? site.first, site.first + FRAMES_SHOWN).map(frameText).join(' ← ');
}

/** Where a leak that no allocation site of the C heap explains may be, by the metric it was found on. */
function lookInstead(metric: MetricName): string {
  if (metric === 'v8heap') return "V8's heap grew: JavaScript objects kept alive, which a heap snapshot before and after the calls shows (v8.writeHeapSnapshot())";
  if (metric === 'external') return 'memory that JavaScript objects hold grew (Buffers, ArrayBuffers): a heap snapshot before and after the calls shows what keeps them';
  if (metric === 'heap' || metric === 'mmap') return 'the leak may not go through malloc: mmap, another allocator';
  return "the process's pages grew outside malloc: mmap, address space reserved earlier and committed as it fills (a resizable ArrayBuffer, an arena), or an allocator of an addon's own";
}

/**
 * The "where" block: one line per place, `bytes/call  function (file:line) ← caller ← caller`, most bytes first. Sites
 * whose lines read the same (allocations that differ only inside node, such as a reference and its handle) are one
 * line, their bytes summed.
 */
export function formatSites(sites: readonly LeakSite[], profiledCalls: number, inSteps = false, metric: MetricName = 'heap'): string[] {
  if (sites.length === 0) {
    const why = inSteps
      ? 'a leak in steps grows only when its storage fills, as far apart as all the calls before, so these calls may ' +
        'hold no step'
      : lookInstead(metric);
    return ['', `where: no allocation site grew with the calls in ${profiledCalls} profiled calls (${why})`];
  }
  const places = new Map<string, number>();
  for (const site of sites) {
    const text = siteText(site);
    places.set(text, (places.get(text) ?? 0) + site.bytesPerCall);
  }
  const lines = [...places].sort((a, b) => b[1] - a[1]);
  const shown = lines.slice(0, SITES_SHOWN);
  const rates = shown.map(([, bytesPerCall]) => formatRate(bytesPerCall));
  const width = Math.max(...rates.map((rate) => rate.length));
  return [
    '',
    `where (jemalloc heap profile of ${formatNumber(profiledCalls)} more calls; all frames in err.report.sites):`,
    ...shown.map(([text], index) => `  ${rates[index].padStart(width)}  ${text}`),
    ...(lines.length > SITES_SHOWN ? [`  … and ${lines.length - SITES_SHOWN} more`] : []),
  ];
}

const KIB = 1024;
const MIB = 1024 * 1024;

/** Bytes, signed, exact below 100 KiB and in KiB/MiB above: "+12,800 B", "-3.5 MiB". */
export function formatBytes(bytes: number, signed = true): string {
  const sign = bytes > 0 && signed ? '+' : bytes < 0 ? '-' : '';
  const size = Math.abs(bytes);
  if (size < 100 * KIB) return `${sign}${formatNumber(Math.round(size))} B`;
  if (size < 100 * MIB) return `${sign}${formatNumber(size / KIB, 1)} KiB`;
  return `${sign}${formatNumber(size / MIB, 1)} MiB`;
}

function processKind(quiet: boolean): string {
  return quiet ? 'quiet process' : 'plain process';
}

/** The rounds as a table: round, calls, growth of each metric, and bytes/call of `rateMetric`. */
export function formatRounds(report: LeakReportBase, rateMetric: MetricName | null): string {
  const headers = ['round', 'calls', ...report.metrics, ...(rateMetric ? [`${rateMetric} B/call`] : [])];
  const rows = report.rounds.map((round) => [
    String(round.round),
    formatNumber(round.calls),
    ...report.metrics.map((metric) => formatBytes(round.growth[metric] ?? 0)),
    ...(rateMetric ? [formatRate((round.growth[rateMetric] ?? 0) / round.calls).replace(' B/call', '')] : []),
  ]);
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padStart(widths[column])).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

/** "1 round", "5 rounds". */
function countRounds(rounds: number): string {
  return rounds === 1 ? '1 round' : `${rounds} rounds`;
}

/** MemoryLeakError's message: the verdict in one line, the table of rounds, the estimate. */
export function formatMemoryLeak(report: LeakReportBase & LeakDetails): string {
  const totalCalls = formatNumber(report.calls);
  return [
    `${report.metric} leaks about ${formatRate(report.bytesPerCall)} ` +
      `(${countRounds(report.rounds.length)}, ${totalCalls} calls after ${formatNumber(report.warmupCalls)} warm-up calls, ${processKind(report.quiet)})`,
    '',
    formatRounds(report, report.metric),
    '',
    `estimate: ${formatRate(report.bytesPerCall)} on ${report.metric}, ` +
      `${report.inSteps ? 'from step to step' : 'at one rate'} over the last ` +
      `${formatNumber(report.sustainedCalls)} calls; ${formatBytes(report.leakedBytes, false)} leaked in all`,
    `why: ${report.reason}`,
    // An unconfirmed verdict's reason already says what it could not rule out.
    ...(report.confirmed
      ? [
          `not ruled out: a cache or pool that fills beyond ${formatBytes(report.sustainedBytes, false)} (the growth ` +
            `${report.inSteps ? 'kept its pace' : 'held its rate'} that far); if there is one, a trimCallback that empties it, or a ` +
            'tolerance above its size, tells it from a leak',
        ]
      : []),
    ...cHeapNote(report),
    ...(report.sites ? formatSites(report.sites, report.profiledCalls ?? 0, report.inSteps, report.metric) : []),
    ...(report.profiled === false ? ['', `where: not profiled: the C heap did not grow with the leak, and the profiler sees only malloc; ${lookInstead(report.metric)}`] : []),
  ].join('\n');
}

function cHeapNote(report: LeakReportBase): string[] {
  const notes = report.cHeapJudged || report.metrics.length === 0 ? [] : ['note: the C heap was not judged (metrics leave out heap and mmap)'];
  for (const own of report.ownAllocators ?? []) {
    const judged = own.judged ? `${own.judged} judged as well` : 'process memory not judged (metrics were named)';
    const what =
      own.how === 'pages'
        ? 'manages memory pages itself (it imports madvise), as allocators the C heap figures do not see do'
        : own.how === 'gone'
          ? 'was deleted or replaced on disk after it was loaded, so whether it carries an allocator the C heap figures do not see could not be read (restart the process to load the file as it is now)'
          : `${own.how === 'linked' ? 'is' : 'carries'} ${own.name}, an allocator the C heap figures do not see`;
    notes.push(`note: ${path.basename(own.object)} ${what}: ${judged}`);
  }
  return notes;
}

/** What verbosity 2 prints for a clean check. */
export function formatClean(report: LeakReport, label: string): string {
  const head = `nodeleak: ${label}: no leak (${countRounds(report.rounds.length)}, ${formatNumber(report.calls)} calls, ${Math.round(report.ms)} ms, ${processKind(report.quiet)})`;
  if (report.rounds.length === 0) return [head, ...cHeapNote(report)].join('\n');
  return [head, formatRounds(report, null), `why: ${report.reason}`, ...cHeapNote(report)].join('\n');
}

/** InconclusiveError's message: what was and was not ruled out, and what to change. */
export function formatInconclusive(report: LeakReport, label: string): string {
  const ruledOut = report.judged
    .filter((metric) => !report.undecided.includes(metric))
    .map((metric) => `${metric} ≤ ${formatRate(report.upperBytesPerCall[metric] ?? Infinity)}`);
  // A bound within the resolution that left the metric open: its level had not stood long enough (decision.ts).
  const levelOnly = (metric: MetricName): boolean => (report.upperBytesPerCall[metric] ?? Infinity) <= (report.resolution[metric] ?? 0);
  const open = report.undecided.map((metric) => {
    const bound = report.upperBytesPerCall[metric];
    if (bound === undefined || !Number.isFinite(bound)) return `${metric} (no bound)`;
    if (levelOnly(metric)) return `${metric} (its last rounds bound it to ≤ ${formatRate(bound)}, but its level had not stood long enough)`;
    return `${metric} (bounded only to ≤ ${formatRate(bound)})`;
  });
  const steps = report.undecided.some(levelOnly)
    ? [
        'A level that has not stood long enough follows growth in steps. Storage that doubles as it fills (a leak) is level ' +
          'between two steps, and is called a leak once its steps have come back to their pace three times while the calls ' +
          'measured tripled (a longer budget: retries, maxMs). A cache that filled late is level too: a tolerance above its ' +
          'growth, or a trimCallback that empties it, passes it.',
      ]
    : [];
  return [
    `inconclusive: the check of ${label} ended before it could ` +
      (report.undecided.length > 0 ? `rule out a leak on ${report.undecided.join(', ')} ` : 'run every check ') +
      `(${countRounds(report.rounds.length)}, ${formatNumber(report.calls)} calls, ${Math.round(report.ms)} ms, ${processKind(report.quiet)})`,
    `ruled out: ${ruledOut.length > 0 ? ruledOut.join(', ') : 'nothing'}`,
    `not ruled out: ${open.join(', ')}`,
    'To decide: give the check more time (maxMs, or the test\'s timeout) and calls (retries, times), run it in a quiet ' +
      'process (npx nodeleak), or pass allowInconclusive: true to accept this as a pass with a warning.',
    ...steps,
    ...(report.rounds.length > 0 ? ['', formatRounds(report, null)] : []),
    `why: ${report.reason}`,
    ...cHeapNote(report),
  ].join('\n');
}

/** The one line NODELEAK_SUMMARY=1 prints for a passing check: calls, time, and the bound on each judged metric. */
export function formatSummary(report: LeakReport, label: string): string {
  const bounds = report.judged.map((metric) => `${metric} ≤ ${formatRate(report.upperBytesPerCall[metric] ?? Infinity)}`);
  const what = report.verdict === 'clean' ? 'no leak' : 'inconclusive (allowed)';
  return (
    `nodeleak: ${label}: ${what} in ${formatNumber(report.calls)} calls, ${Math.round(report.ms)} ms, ${processKind(report.quiet)}` +
    (bounds.length > 0 ? `; ${bounds.join(', ')}` : '')
  );
}
