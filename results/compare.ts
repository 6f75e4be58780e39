import { formatNumber, formatTable } from '../common/format-table.js';
import type { HostRecord, PointMeasures, Store, SweepRecord } from './store/store.js';
import { compareHosts, type HostDifference } from './store/host.js';

// `sweep compare A B`: points matched by key, B against A.
//
// The rule for marking a change. A point's run-to-run spread is (max - min) / median of its
// repeat throughputs; a point with fewer than two repeats takes the median spread of its sweep's
// points that have them (0 when none do). A ratio B/A is marked only when
//     |B/A - 1| > threshold = max(spread in A, spread in B, minChange)     (minChange: 2 %)
// Throughput up is 'faster'; latency (p50, p99) down is 'faster'. A regression is a point that
// failed in B but not in A, whose throughput or p50 latency is marked 'slower', or whose hard
// Dice fell by more than maxDiceDrop (absolute, default 0.002): a fast point that computes
// something else must fail the comparison. The same model on the same images gives the same Dice
// to about 1e-5 whatever the engine or thread count (rounding of pixels within float noise of
// 0.5), so a larger drop means the predictions changed. p99 is shown and marked but is not a
// regression on its own (tails are noisier than the repeats show).

export const DEFAULT_MIN_CHANGE = 0.02;
export const DEFAULT_MAX_DICE_DROP = 0.002;

export const COMPARE_RULE =
  'a ratio B/A is marked when |B/A - 1| > max(spread A, spread B, min change); spread = (max - min) / median ' +
  'of the point\'s repeat throughputs (its sweep\'s median spread when it has one repeat); regression = ' +
  'failed in B only, throughput or p50 latency marked slower, or Dice down by more than max Dice drop';

export type Verdict = 'faster' | 'slower' | 'same' | 'n/a';

export interface CompareOptions {
  /** Smallest relative change ever marked, whatever the spread (default 0.02). */
  minChange?: number;
  /** Largest fall in hard Dice (absolute) that is not a regression (default 0.002). */
  maxDiceDrop?: number;
  /** Where the baseline sweep is, when not in the candidate's store: another machine's or an archived database. */
  baselineStore?: Store;
}

export interface MetricChange {
  a: number | null;
  b: number | null;
  /** b / a; null when either is missing. */
  ratio: number | null;
  verdict: Verdict;
}

export interface PointComparison {
  key: string;
  status: { a: string; b: string };
  throughput: MetricChange;
  latency_p50: MetricChange;
  latency_p99: MetricChange;
  dice: { a: number | null; b: number | null };
  spread: { a: number; b: number };
  /** The relative change a ratio must exceed to be marked. */
  threshold: number;
  regression: boolean;
  /** Why it is a regression ("throughput slower", "failed in B: ..."). */
  reasons: string[];
}

export interface FieldDifference {
  field: string;
  a: unknown;
  b: unknown;
}

export interface SweepSide {
  id: number;
  name: string;
  tag: string | null;
  status: string;
  started_at: string;
  host: string;
  /** The database file the sweep was read from. */
  database: string;
}

export interface Comparison {
  a: SweepSide;
  b: SweepSide;
  rule: string;
  minChange: number;
  maxDiceDrop: number;
  points: PointComparison[];
  onlyInA: string[];
  onlyInB: string[];
  /** Each with its kind: another machine, a configuration the figures depend on, or the rest. */
  hostDifferences: HostDifference[];
  /** Tool version, git revision, engine versions, experiment hash. */
  sweepDifferences: FieldDifference[];
  regressions: PointComparison[];
  summary: { matched: number; faster: number; slower: number; same: number; regressions: number };
}

/** Relative spread of repeat throughputs, or null with fewer than two. */
export function repeatSpread(repeats: readonly number[]): number | null {
  const v = repeats.filter((x) => Number.isFinite(x));
  if (v.length < 2) return null;
  const sorted = [...v].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return median > 0 ? (sorted[sorted.length - 1] - sorted[0]) / median : null;
}

function typicalSpread(points: readonly PointMeasures[]): number {
  const spreads = points.map((p) => repeatSpread(p.throughput_repeats)).filter((s): s is number => s !== null).sort((x, y) => x - y);
  if (!spreads.length) return 0;
  const mid = spreads.length >> 1;
  return spreads.length % 2 ? spreads[mid] : (spreads[mid - 1] + spreads[mid]) / 2;
}

function change(a: number | null, b: number | null, threshold: number, higherIsBetter: boolean): MetricChange {
  if (a === null || b === null || a <= 0) return { a, b, ratio: null, verdict: 'n/a' };
  const ratio = b / a;
  let verdict: Verdict = 'same';
  if (Math.abs(ratio - 1) > threshold) verdict = ratio > 1 === higherIsBetter ? 'faster' : 'slower';
  return { a, b, ratio, verdict };
}

export function comparePoints(
  a: PointMeasures,
  b: PointMeasures,
  spreadA: number,
  spreadB: number,
  minChange: number,
  maxDiceDrop = DEFAULT_MAX_DICE_DROP,
): PointComparison {
  const threshold = Math.max(spreadA, spreadB, minChange);
  const throughput = change(a.throughput_ips, b.throughput_ips, threshold, true);
  const latency_p50 = change(a.latency_p50_ms, b.latency_p50_ms, threshold, false);
  const latency_p99 = change(a.latency_p99_ms, b.latency_p99_ms, threshold, false);
  const reasons: string[] = [];
  if (b.status === 'failed' && a.status !== 'failed') reasons.push(`failed in B: ${b.error ?? 'no error recorded'}`);
  if (throughput.verdict === 'slower') reasons.push(`throughput ${formatNumber(throughput.ratio!, 3)}x`);
  if (latency_p50.verdict === 'slower') reasons.push(`p50 latency ${formatNumber(latency_p50.ratio!, 3)}x`);
  if (a.dice !== null && b.dice !== null && a.dice - b.dice > maxDiceDrop) reasons.push(`Dice ${a.dice.toFixed(4)} -> ${b.dice.toFixed(4)}`);
  return {
    key: a.key,
    status: { a: a.status, b: b.status },
    throughput,
    latency_p50,
    latency_p99,
    dice: { a: a.dice, b: b.dice },
    spread: { a: spreadA, b: spreadB },
    threshold,
    regression: reasons.length > 0,
    reasons,
  };
}

const SWEEP_FIELDS: (keyof SweepRecord)[] = ['tool_version', 'git_revision', 'engine_versions', 'experiment_sha256'];

/** The fields whose values differ between two records (compared as JSON), with both values. */
export function differences<T extends object>(a: T, b: T, fields: readonly (keyof T)[]): FieldDifference[] {
  return fields
    .filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]))
    .map((f) => ({ field: String(f), a: a[f], b: b[f] }));
}

function side(s: SweepRecord, host: HostRecord, store: Store): SweepSide {
  return { id: s.id, name: s.name, tag: s.tag, status: s.status, started_at: s.started_at, host: host.hostname, database: store.path };
}

/** Compares sweep `b` against sweep `a` (ids, or names/tags meaning the latest such sweep). */
export function compareSweeps(store: Store, a: string | number, b: string | number, opts: CompareOptions = {}): Comparison {
  const minChange = opts.minChange ?? DEFAULT_MIN_CHANGE;
  const maxDiceDrop = opts.maxDiceDrop ?? DEFAULT_MAX_DICE_DROP;
  const storeA = opts.baselineStore ?? store;
  const sa = storeA.findSweep(a);
  const sb = store.findSweep(b);
  const ha = storeA.getHost(sa.host_id);
  const hb = store.getHost(sb.host_id);
  const pa = storeA.pointMeasuresOf(sa.id);
  const pb = store.pointMeasuresOf(sb.id);
  const typicalA = typicalSpread(pa);
  const typicalB = typicalSpread(pb);
  const byKeyB = new Map(pb.map((p) => [p.key, p]));
  const keysA = new Set(pa.map((p) => p.key));

  const points: PointComparison[] = [];
  for (const p of pa) {
    const q = byKeyB.get(p.key);
    if (!q) continue;
    const spreadA = repeatSpread(p.throughput_repeats) ?? typicalA;
    const spreadB = repeatSpread(q.throughput_repeats) ?? typicalB;
    points.push(comparePoints(p, q, spreadA, spreadB, minChange, maxDiceDrop));
  }
  const regressions = points.filter((p) => p.regression);
  const count = (v: Verdict) => points.filter((p) => p.throughput.verdict === v).length;
  return {
    a: side(sa, ha, storeA),
    b: side(sb, hb, store),
    rule: COMPARE_RULE,
    minChange,
    maxDiceDrop,
    points,
    onlyInA: pa.filter((p) => !byKeyB.has(p.key)).map((p) => p.key),
    onlyInB: pb.filter((p) => !keysA.has(p.key)).map((p) => p.key),
    hostDifferences: compareHosts(ha, hb),
    sweepDifferences: differences(sa, sb, SWEEP_FIELDS),
    regressions,
    summary: { matched: points.length, faster: count('faster'), slower: count('slower'), same: count('same'), regressions: regressions.length },
  };
}

const mark = (m: MetricChange) => (m.verdict === 'faster' ? '+' : m.verdict === 'slower' ? '-' : '');
const ratioCell = (m: MetricChange) => (m.ratio === null ? '-' : `${formatNumber(m.ratio, 3)}${mark(m) ? ' ' + mark(m) : ''}`);
const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function renderComparison(c: Comparison, format: 'table' | 'json' = 'table'): string {
  if (format === 'json') return JSON.stringify(c, null, 2) + '\n';
  // The database is named only when the two sides come from different files.
  const from = (s: SweepSide) => (c.a.database === c.b.database ? '' : ` in ${s.database}`);
  const title = (s: SweepSide) => `#${s.id} ${s.name}${s.tag ? ` [${s.tag}]` : ''} (${s.status}) ${s.started_at} on ${s.host}${from(s)}`;
  const out = [`A: ${title(c.a)}`, `B: ${title(c.b)}`, `rule: ${c.rule}; min change ${pct(c.minChange)}, max Dice drop ${c.maxDiceDrop}`, ''];
  const rows = c.points.map((p) => [
    p.key,
    p.throughput.a,
    p.throughput.b,
    ratioCell(p.throughput),
    ratioCell(p.latency_p50),
    ratioCell(p.latency_p99),
    pct(p.threshold),
    p.regression ? `REGRESSION: ${p.reasons.join('; ')}` : p.throughput.verdict === 'faster' ? 'faster' : '',
  ]);
  out.push(formatTable(['point', 'A ips', 'B ips', 'tput B/A', 'p50 B/A', 'p99 B/A', 'spread', 'change'], rows, { nullText: '-', maxWidth: 100 }));
  if (c.onlyInA.length) out.push(`only in A (${c.onlyInA.length}):`, ...c.onlyInA.map((k) => `  ${k}`), '');
  if (c.onlyInB.length) out.push(`only in B (${c.onlyInB.length}):`, ...c.onlyInB.map((k) => `  ${k}`), '');
  const hostKind = (k: HostDifference['kind']) => c.hostDifferences.some((d) => d.kind === k);
  out.push(
    c.hostDifferences.length === 0
      ? 'host: same fingerprint'
      : hostKind('machine')
        ? 'host differences (another machine):'
        : `host differences (same machine${hostKind('measurement') ? ', configuration that affects the figures changed' : ''}):`,
  );
  for (const d of c.hostDifferences) out.push(`  ${d.field}: ${value(d.a)} -> ${value(d.b)} (${d.kind})`);
  for (const d of c.sweepDifferences) out.push(`sweep ${d.field}: ${value(d.a)} -> ${value(d.b)}`);
  const s = c.summary;
  out.push(
    '',
    `${s.matched} points matched: ${s.faster} faster, ${s.slower} slower, ${s.same} within spread (throughput); ` +
      `${s.regressions} regression${s.regressions === 1 ? '' : 's'}`,
  );
  return out.join('\n') + '\n';
}
