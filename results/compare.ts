import { countersMoved } from './counter-moves.js';
import { formatCpuList } from '../common/cpulist.js';
import { formatNumber, formatTable } from '../common/format-table.js';
import type { HostRecord, PointMeasures, Store, SweepRecord } from './store/store.js';
import { compareHosts, CONFIG_FIELD_PREFIX, type HostDifference } from './store/host.js';
import type { PointMeasuring } from './types.js';
import { judgeRatio, logEstimateOf, type Drift } from './verdict-rule.js';
import { learnDrift } from './drift.js';
import { MIN_P99_SAMPLES, p99RatioInterval, sampleCount } from './latency-interval.js';

// `sweep compare A B`: the candidate B judged against the baseline A, point by point (points are
// matched by key, the declared axis values, so a host with fewer usable cores still matches).
//
// The verdict, in three parts; each reason is one line of the output.
//  FAIL (exit 1):
//   - a point A has (ok) is missing from B: not run (B stopped early), skipped (B's host could
//     not hold it, with why), or failed in B;
//   - B did not complete (running, failed or interrupted);
//   - no point matched at all;
//   - B measured another model or data under the same keys (their SHA-256 differ; the model
//     point by point where both sweeps stored each point's model, as a model axis needs);
//   - a matched point regressed: its throughput fell (the rule below), or its hard Dice fell by
//     more than maxDiceDrop (a fast point that computes something else must fail).
//   `allowMissing` turns the first two into notes: B may be a subset of A. A failed point and
//   "nothing matched" still fail.
//  INCONCLUSIVE (exit 3, when nothing failed): a point whose figures cannot support a verdict:
//   suspect in A or B (foreign load, throttling, oversubscription during its window: never a
//   pass nor a regression), without a throughput interval, with intervals too wide to see a
//   change of minChange, or failed in A (no reference); and a baseline that did not complete.
//  PASS (exit 0) otherwise.
//
// Throughput rule (results/verdict-rule.ts, docs/validity.md): an equivalence verdict on the
// ratio B/A. Each point's stored 95 % interval gives its log throughput and standard error; the
// ratio's 95 % interval (Welch) is widened by the point's between-sweep drift, learned from the
// host's earlier comparable sweeps of the experiment (results/drift.ts; unknown with fewer than
// 3: said so, and not widened). 'same' (pass) when it lies inside 1 +- tolerance, 'slower'
// (a regression) when wholly below 1 - tolerance, 'faster' when wholly above 1 + tolerance, and
// 'inconclusive' otherwise, with the smallest change this comparison could have decided and why
// each side stopped measuring. p99 latency, when judged (`maxP99Rise`, `sweep qualify`'s rule),
// has a bootstrap interval of its ratio (results/latency-interval.ts): it fails only when that
// interval lies wholly above 1 + maxP99Rise, passes when wholly at or below it, and with fewer
// than 100 batches a side it is inconclusive, never failed. A suspect point is inconclusive.
//
// Each point also lists its verdict figure by figure (`figures`: status, throughput, p99, Dice),
// and the comparison the reasons that belong to no point (`sweepChecks`), for reports that give
// one line or one test case per figure. `judgeReference` applies an interval rule to an
// absolute reference (an expected img/s with a tolerance) when there is no baseline sweep.

export const DEFAULT_TOLERANCE = 0.05;
export const DEFAULT_MAX_DICE_DROP = 0.002;

export const COMPARE_RULE =
  "throughput: the 95 % interval of B/A (Welch on log throughput, widened by the host's learned between-sweep drift) " +
  "inside 1 +- tolerance: same (pass); wholly below 1 - tolerance: slower (regression); wholly above 1 + tolerance: faster; otherwise inconclusive; " +
  'a suspect point is inconclusive; regression = slower, p99 interval wholly above its rule, Dice down by more than max Dice drop, or failed/missing in B'

export type Verdict = 'faster' | 'slower' | 'same' | 'inconclusive';

export interface CompareOptions {
  /** The equivalence margin of the throughput ratio, a share (default 0.05). */
  tolerance?: number;
  /** Largest fall in hard Dice (absolute) that is not a regression (default 0.002). */
  maxDiceDrop?: number;
  /** Points of A missing from B, and an incomplete B, are notes instead of failures. */
  allowMissing?: boolean;
  /** Where the baseline sweep is, when not in the candidate's store: another machine's or an archived database. */
  baselineStore?: Store;
  /** Largest relative rise of p99 latency that is not a regression; unset: p99 is shown, not judged. */
  maxP99Rise?: number;
  /** Learn the between-sweep drift from the baseline store's history (default true). */
  learnDrift?: boolean;
}

/** One figure of one point, judged: what a report shows as one row or one test case. */
export interface FigureCheck {
  figure: 'status' | 'throughput' | 'latency_p99' | 'dice';
  baseline: number | null;
  candidate: number | null;
  /** The change in words: a ratio for throughput and p99 ("0.93x"), a difference for Dice. */
  change: string | null;
  /** The intervals the verdict used, or null where the figure has none. */
  interval: string | null;
  verdict: 'pass' | 'fail' | 'inconclusive';
  reason: string;
}

/** A reason that belongs to the sweeps, not to a point (an incomplete sweep, another model). */
export interface SweepCheck {
  verdict: 'fail' | 'inconclusive';
  reason: string;
}

/** One side's interval, as compare used it. */
export interface IntervalUsed {
  low: number;
  high: number;
  method: 'repeats' | 'batch-means';
  samples: number;
  /** Half the interval's width over the point's throughput. */
  relativeHalfWidth: number;
}

export interface ThroughputJudgement {
  a: number | null;
  b: number | null;
  /** b / a; null when either is missing. */
  ratio: number | null;
  interval: { a: IntervalUsed | null; b: IntervalUsed | null };
  /** The 95 % interval of B/A the verdict used (drift included), or null where there is none. */
  ratioInterval: { low: number; high: number; df: number } | null;
  tolerance: number;
  /** The smallest relative change this comparison could have decided; null without an interval. */
  smallestDetectable: number | null;
  /** The point's learned between-sweep drift (log sd) and how many sweeps gave it; null: not yet known. */
  drift: Drift | null;
  /** How each side was measured: windows and why it stopped (null: stored before rounds). */
  measuring: { a: PointMeasuring | null; b: PointMeasuring | null };
  verdict: Verdict;
  /** Why the verdict, in words. */
  why: string;
}

/** p99 latency judged: the ratio with its bootstrap interval, or why not. */
export interface P99Judgement {
  a: number | null;
  b: number | null;
  ratio: number | null;
  interval: { low: number; high: number } | null;
  samples: { a: number; b: number } | null;
}

export interface RatioOnly {
  a: number | null;
  b: number | null;
  ratio: number | null;
}

export interface PointComparison {
  key: string;
  status: { a: string; b: string };
  throughput: ThroughputJudgement;
  latency_p50: RatioOnly;
  latency_p99: RatioOnly & { interval: { low: number; high: number } | null; samples: { a: number; b: number } | null };
  dice: { a: number | null; b: number | null };
  /** What the key resolved to on each host, when that differs ("2 cores/instance on CPUs 0-1 -> 1 on 0"). */
  placementChange: string | null;
  /** Why it fails the comparison; empty when it does not. */
  failures: string[];
  /** Why it cannot be judged; empty when it can. */
  inconclusive: string[];
  /** The verdict figure by figure; a figure without values on both sides is left out. */
  figures: FigureCheck[];
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
  tolerance: number;
  /** The host's between-sweep drift as learned from the baseline store (null fields: not yet known). */
  drift: { tau: number | null; floor: number | null; sweeps: number[]; text: string };
  maxDiceDrop: number;
  allowMissing: boolean;
  points: PointComparison[];
  /** Points of A (ok there) that B does not have, with why. */
  missing: { key: string; reason: string }[];
  onlyInB: string[];
  /** Each with its kind: another machine, a configuration the figures depend on, or the rest. */
  hostDifferences: HostDifference[];
  /**
   * What changed in the host's captured configuration (BIOS, DIMMs, SMT, turbo, governor, THP,
   * serials ...) from A to B: the `config.*` entries of hostDifferences, printed before any figure.
   */
  hostConfigurationChanges: HostDifference[];
  /** Tool version, git revision, engine versions, experiment hash. */
  sweepDifferences: FieldDifference[];
  /** Every reason the comparison fails, one line each; non-empty means exit 1. */
  failures: string[];
  /** Every reason it cannot give a verdict, one line each; exit 3 when there are no failures. */
  inconclusive: string[];
  /** What the comparison says but does not judge (allowed missing points, unknown input hashes). */
  notes: string[];
  /** The failures and inconclusive reasons that belong to no matched point (missing points included). */
  sweepChecks: SweepCheck[];
  maxP99Rise: number | null;
  verdict: 'pass' | 'regression' | 'inconclusive';
  exitCode: 0 | 1 | 3;
  summary: { matched: number; faster: number; slower: number; same: number; inconclusive: number; failed: number };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function intervalUsed(p: PointMeasures): IntervalUsed | null {
  const ci = p.throughput_ci;
  if (ci === null || p.throughput_ips === null || !(p.throughput_ips > 0)) return null;
  return { ...ci, relativeHalfWidth: (ci.high - ci.low) / 2 / p.throughput_ips };
}

/**
 * What B's instances did with their CPUs against A's, for a slower point: the share of their
 * CPUs' time they ran, and the images they finished per CPU-second. Less CPU time means they
 * were preempted; less work per CPU-second means slower CPUs (clock, a busy SMT sibling, a VM's
 * host) or more work per image. Null where either side did not record its CPU time.
 */
function cpuUse(a: PointMeasures, b: PointMeasures): string | null {
  if (a.cpu_share === null || b.cpu_share === null || a.images_per_cpu_second === null || b.images_per_cpu_second === null) return null;
  if (!(a.images_per_cpu_second > 0)) return null;
  const work = b.images_per_cpu_second / a.images_per_cpu_second;
  // The same fixed loop on the same CPUs: took longer in B, the CPUs were slower, not the configuration.
  const probe =
    a.speed_probe_ms && b.speed_probe_ms ? `; the host-speed probe took ${formatNumber(b.speed_probe_ms / a.speed_probe_ms, 3)}x A's time on their CPUs` : '';
  return `in their timed windows (all instances and repeats), B's instances ran ${pct(b.cpu_share)} of their CPUs' time (A ${pct(a.cpu_share)}) and finished ${formatNumber(work, 3)}x A's images per CPU-second${probe}`;
}

/** Why a side stopped short of its precision, for an inconclusive reason ("" when it reached it or is older). */
function shortOfPrecision(side: string, m: PointMeasuring | null): string {
  if (m === null || m.stop_reason === 'precision') return '';
  const why = m.stop_reason === 'budget' ? 'its budget was spent' : m.stop_reason === 'max_repeats' ? 'it reached max_repeats' : `it was ${m.stop_reason}`;
  return `; ${side} stopped after ${m.windows} window(s) because ${why}, before its precision ±${pct(m.precision_target)}`;
}

/** The throughput rule (top of this file) for two ok points; pure. */
export function judgeThroughput(a: PointMeasures, b: PointMeasures, tolerance: number, drift: Drift | null = null): ThroughputJudgement {
  const ratio = a.throughput_ips !== null && b.throughput_ips !== null && a.throughput_ips > 0 ? b.throughput_ips / a.throughput_ips : null;
  const ia = intervalUsed(a);
  const ib = intervalUsed(b);
  const base = {
    a: a.throughput_ips,
    b: b.throughput_ips,
    ratio,
    interval: { a: ia, b: ib },
    tolerance,
    drift,
    measuring: { a: a.measuring, b: b.measuring },
  };
  if (ratio === null) return { ...base, ratioInterval: null, smallestDetectable: null, verdict: 'inconclusive', why: 'no throughput to compare' };
  const ea = logEstimateOf(a.throughput_ips, a.throughput_ci);
  const eb = logEstimateOf(b.throughput_ips, b.throughput_ci);
  if (ea === null || eb === null) {
    const which = ea === null && eb === null ? 'A and B' : ea === null ? 'A' : 'B';
    return { ...base, ratioInterval: null, smallestDetectable: null, verdict: 'inconclusive', why: `no throughput interval in ${which}` };
  }
  // One window's batch means see that window's noise only, never the host moving between windows:
  // such a side is not judged either way (a point needs 3 or more windows for an interval that counts).
  const oneWindow = (['A', 'B'] as const).filter((side) => (side === 'A' ? a : b).throughput_ci?.method === 'batch-means');
  if (oneWindow.length > 0) {
    return {
      ...base,
      ratioInterval: null,
      smallestDetectable: null,
      verdict: 'inconclusive',
      why: `throughput ${formatNumber(ratio, 3)}x not judged: ${oneWindow.join(' and ')}'s interval comes from the batches of fewer than 3 windows, blind to how the host moves between windows; measure in 3 or more (measurement.repeats)`,
    };
  }
  const j = judgeRatio(ea, eb, tolerance, drift);
  const ratioInterval = { low: j.low, high: j.high, df: j.df };
  const driftText = drift === null ? 'drift not yet known' : `host drift ${pct(drift.tau)} from ${drift.sweeps} sweeps`;
  const range = `B/A ${formatNumber(j.ratio, 3)}x, 95% ${formatNumber(j.low, 3)}-${formatNumber(j.high, 3)} (${driftText})`;
  const common = { ...base, ratioInterval, smallestDetectable: j.smallestDetectable };
  // Said with every verdict: a side judged before it reached its precision.
  const short = shortOfPrecision('A', a.measuring) + shortOfPrecision('B', b.measuring);
  switch (j.verdict) {
    case 'pass':
      return { ...common, verdict: 'same', why: `${range}: inside 1 ±${pct(tolerance)}${short}` };
    case 'faster':
      return { ...common, verdict: 'faster', why: `${range}: wholly above 1 +${pct(tolerance)}${short}` };
    case 'regression': {
      const cpu = [cpuUse(a, b), countersMoved(a.counters, b.counters)].map((x) => (x === null ? '' : `; ${x}`)).join('');
      return { ...common, verdict: 'slower', why: `${range}: wholly below 1 -${pct(tolerance)}${cpu}${short}` };
    }
    default:
      return {
        ...common,
        verdict: 'inconclusive',
        why: `${range}: neither inside 1 ±${pct(tolerance)} nor beyond it; this comparison can decide changes of ${pct(j.smallestDetectable)} or more${short}`,
      };
  }
}

function ratioOnly(a: number | null, b: number | null): RatioOnly {
  return { a, b, ratio: a !== null && b !== null && a > 0 ? b / a : null };
}

function placementOf(p: PointMeasures): string {
  const where = [p.cpus === null ? null : `CPUs ${formatCpuList(p.cpus)}`, p.nodes === null ? null : `nodes ${formatCpuList(p.nodes)}`].filter((x) => x !== null);
  return `${p.cores_per_instance} cores/instance${where.length ? ` on ${where.join(', ')}` : ''}`;
}

/** One matched point; `a` and `b` carry the same key. */
export interface PointRule {
  tolerance: number;
  maxDiceDrop?: number;
  /** The point's learned between-sweep drift; null: not yet known. */
  drift?: Drift | null;
  maxP99Rise?: number;
  /** Each side's per-batch latencies by window, for the p99 interval (read only when maxP99Rise is set). */
  latency?: { a: number[][]; b: number[][] };
}

export function comparePoints(a: PointMeasures, b: PointMeasures, rule: PointRule): PointComparison {
  const { tolerance, maxP99Rise } = rule;
  const maxDiceDrop = rule.maxDiceDrop ?? DEFAULT_MAX_DICE_DROP;
  const failures: string[] = [];
  const inconclusive: string[] = [];
  const figures: FigureCheck[] = [];
  const throughput = judgeThroughput(a, b, tolerance, rule.drift ?? null);
  const p99Interval = maxP99Rise !== undefined && rule.latency ? p99RatioInterval(a.key, rule.latency.a, rule.latency.b) : null;
  const p99 = {
    ...ratioOnly(a.latency_p99_ms, b.latency_p99_ms),
    interval: p99Interval === null ? null : { low: p99Interval.low, high: p99Interval.high },
    samples: rule.latency ? { a: sampleCount(rule.latency.a), b: sampleCount(rule.latency.b) } : null,
  };
  const placementA = placementOf(a);
  const placementB = placementOf(b);
  const status = { baseline: null, candidate: null, change: null, interval: null };
  const tputFigure = { baseline: a.throughput_ips, candidate: b.throughput_ips, change: ratioText(throughput.ratio), interval: intervalText(throughput) };
  const p99Figure = {
    baseline: p99.a,
    candidate: p99.b,
    change: ratioText(p99.ratio),
    interval: p99.interval === null ? null : `95% ${formatNumber(p99.interval.low, 3)}-${formatNumber(p99.interval.high, 3)}x (bootstrap over ${p99.samples!.a} and ${p99.samples!.b} batches)`,
  };
  if (b.status === 'failed') {
    const reason = `failed in B: ${b.error ?? 'no error recorded'}`;
    failures.push(reason);
    figures.push({ figure: 'status', ...status, verdict: 'fail', reason });
  } else if (a.status === 'failed') {
    const reason = `failed in A: no reference figures (${a.error ?? 'no error recorded'})`;
    inconclusive.push(reason);
    figures.push({ figure: 'status', ...status, verdict: 'inconclusive', reason });
  } else {
    // Load cannot change what a model computes: a Dice drop fails the point, suspect or not.
    if (a.dice !== null && b.dice !== null) {
      const drop = a.dice - b.dice;
      const diceFigure = { figure: 'dice' as const, baseline: a.dice, candidate: b.dice, change: `${drop > 0 ? '-' : '+'}${Math.abs(drop).toFixed(4)}`, interval: null };
      if (drop > maxDiceDrop) {
        const reason = `Dice ${a.dice.toFixed(4)} -> ${b.dice.toFixed(4)}`;
        failures.push(reason);
        figures.push({ ...diceFigure, verdict: 'fail', reason: `${reason}: down by more than ${maxDiceDrop}` });
      } else {
        figures.push({ ...diceFigure, verdict: 'pass', reason: `within the allowed drop of ${maxDiceDrop}` });
      }
    }
    if (a.suspect_reasons.length > 0 || b.suspect_reasons.length > 0) {
      // Speed measured under foreign load, throttling or oversubscription says nothing either way.
      const reasons: string[] = [];
      for (const [side, p] of [['A', a], ['B', b]] as const) {
        if (p.suspect_reasons.length > 0) reasons.push(`suspect in ${side}: ${p.suspect_reasons.join('; ')}`);
      }
      inconclusive.push(...reasons);
      figures.push({ figure: 'throughput', ...tputFigure, verdict: 'inconclusive', reason: reasons.join('; ') });
      if (maxP99Rise !== undefined) figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'inconclusive', reason: reasons.join('; ') });
    } else {
      if (throughput.verdict === 'slower') failures.push(throughput.why);
      if (throughput.verdict === 'inconclusive') inconclusive.push(throughput.why);
      const verdict = throughput.verdict === 'slower' ? 'fail' : throughput.verdict === 'inconclusive' ? 'inconclusive' : 'pass';
      figures.push({ figure: 'throughput', ...tputFigure, verdict, reason: throughput.why });
      if (maxP99Rise !== undefined) {
        const limit = 1 + maxP99Rise;
        if (p99.ratio === null) {
          const reason = 'no p99 latency to compare';
          inconclusive.push(reason);
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'inconclusive', reason });
        } else if (p99.interval === null) {
          const n = p99.samples;
          const reason = `p99 latency ${formatNumber(p99.ratio, 3)}x not judged: ${n ? `${n.a} and ${n.b} batches` : 'no per-batch latencies'}, fewer than ${MIN_P99_SAMPLES} on a side`;
          inconclusive.push(reason);
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'inconclusive', reason });
        } else if (p99.interval.low > limit) {
          const reason = `p99 latency ${formatNumber(p99.ratio, 3)}x (${p99Figure.interval}): wholly above the allowed rise of ${pct(maxP99Rise)}`;
          failures.push(reason);
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'fail', reason });
        } else if (p99.interval.high <= limit) {
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'pass', reason: `interval at or below the allowed rise of ${pct(maxP99Rise)}` });
        } else {
          const reason = `p99 latency ${formatNumber(p99.ratio, 3)}x (${p99Figure.interval}): straddles the allowed rise of ${pct(maxP99Rise)}`;
          inconclusive.push(reason);
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'inconclusive', reason });
        }
      }
    }
  }
  return {
    key: a.key,
    status: { a: a.status, b: b.status },
    throughput,
    latency_p50: ratioOnly(a.latency_p50_ms, b.latency_p50_ms),
    latency_p99: p99,
    dice: { a: a.dice, b: b.dice },
    placementChange: placementA === placementB ? null : `${placementA} -> ${placementB}`,
    failures,
    inconclusive,
    figures,
  };
}

function ratioText(ratio: number | null): string | null {
  return ratio === null ? null : `${formatNumber(ratio, 3)}x`;
}

function intervalText(t: ThroughputJudgement): string | null {
  if (t.ratioInterval === null) return null;
  const stop = (m: PointMeasuring | null) => (m === null ? '-' : `${m.windows} ${m.stop_reason}`);
  return `B/A 95% ${formatNumber(t.ratioInterval.low, 3)}-${formatNumber(t.ratioInterval.high, 3)}; windows A ${stop(t.measuring.a)}, B ${stop(t.measuring.b)}`;
}

/** An expected throughput with a tolerance, for a machine that has no baseline sweep yet. */
export interface ThroughputReference {
  expected_ips: number;
  /** Relative: the point fails when its whole interval lies below expected x (1 - tolerance). */
  tolerance: number;
  /** Where the reference is written, for the reason ("experiments/x.yaml: Xeon.*8380"). */
  source: string;
}

/**
 * A point against an absolute reference, by the throughput rule's intervals: fail when its whole
 * 95 % interval lies below the lowest throughput allowed, pass when it lies wholly at or above
 * it, inconclusive when it straddles it, has no interval, or the point is suspect or failed.
 */
export function judgeReference(p: PointMeasures | undefined, ref: ThroughputReference): FigureCheck {
  const floor = ref.expected_ips * (1 - ref.tolerance);
  const base = { figure: 'throughput' as const, baseline: ref.expected_ips, candidate: p?.throughput_ips ?? null, change: null, interval: null };
  const against = `reference ${formatNumber(ref.expected_ips, 1)} img/s -${pct(ref.tolerance)} (${ref.source})`;
  if (p === undefined) return { ...base, verdict: 'fail', reason: `missing: the sweep has no such point; ${against}` };
  if (p.status === 'failed') return { ...base, verdict: 'fail', reason: `failed: ${p.error ?? 'no error recorded'}` };
  const figure = { ...base, change: p.throughput_ips === null ? null : ratioText(p.throughput_ips / ref.expected_ips) };
  if (p.suspect_reasons.length > 0) return { ...figure, verdict: 'inconclusive', reason: `suspect: ${p.suspect_reasons.join('; ')}` };
  const ci = intervalUsed(p);
  if (ci === null) return { ...figure, verdict: 'inconclusive', reason: `no throughput interval; ${against}` };
  const interval = `±${pct(ci.relativeHalfWidth)} (${ci.method})`;
  const range = `interval ${formatNumber(ci.low, 1)}-${formatNumber(ci.high, 1)} img/s`;
  if (ci.high < floor) return { ...figure, interval, verdict: 'fail', reason: `${range} lies below ${formatNumber(floor, 1)} img/s: ${against}` };
  if (ci.low >= floor) return { ...figure, interval, verdict: 'pass', reason: `${range} at or above ${formatNumber(floor, 1)} img/s: ${against}` };
  return { ...figure, interval, verdict: 'inconclusive', reason: `${range} straddles ${formatNumber(floor, 1)} img/s: ${against}` };
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

/**
 * Model and data: a different hash under the same keys fails; an unknown one (stored before
 * hashing) is a note. The model is checked on each matched point when both sides stored it
 * there (a sweep with a model axis ran several), else on the sweeps' model hashes.
 */
function inputChecks(sa: SweepRecord, sb: SweepRecord, matched: [PointMeasures, PointMeasures][], failures: string[], notes: string[]): void {
  const perPoint = matched.length > 0 && matched.every(([p, q]) => p.model_sha256 !== null && q.model_sha256 !== null);
  if (perPoint) {
    for (const [p, q] of matched) {
      if (p.model_sha256 !== q.model_sha256) {
        failures.push(`${p.key}: model differs: A sha256 ${p.model_sha256!.slice(0, 12)}, B sha256 ${q.model_sha256!.slice(0, 12)}: the same point measured another model`);
      }
    }
  }
  for (const [what, field] of [['model', 'model_sha256'], ['data', 'data_sha256']] as const) {
    if (what === 'model' && perPoint) continue;
    const a = sa[field];
    const b = sb[field];
    if (a === null || b === null) notes.push(`${what} not checked: sweep ${a === null ? sa.id : sb.id} was stored without its ${what}'s SHA-256`);
    else if (a !== b) {
      failures.push(`${what} differs: A sha256 ${a.slice(0, 12)}, B sha256 ${b.slice(0, 12)}: the same points measured another ${what}; compare against a baseline of this ${what}`);
    }
  }
}

/** Compares sweep `b` against sweep `a` (ids, or names/tags meaning the latest such sweep). */
export function compareSweeps(store: Store, a: string | number, b: string | number, opts: CompareOptions = {}): Comparison {
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const maxDiceDrop = opts.maxDiceDrop ?? DEFAULT_MAX_DICE_DROP;
  const allowMissing = opts.allowMissing ?? false;
  const storeA = opts.baselineStore ?? store;
  const sa = storeA.findSweep(a);
  const sb = store.findSweep(b);
  const ha = storeA.getHost(sa.host_id);
  const hb = store.getHost(sb.host_id);
  const pa = storeA.pointMeasuresOf(sa.id);
  const pb = store.pointMeasuresOf(sb.id);
  const byKeyB = new Map(pb.map((p) => [p.key, p]));
  // The drift of this host, from the baseline store's history of the experiment (B left out).
  const drift =
    opts.learnDrift === false
      ? { host: null, sweeps: [], floor: null, text: 'between-sweep drift not learned (turned off)' }
      : learnDrift(storeA, {
          experiment: sa.name,
          experimentSha256: sa.experiment_sha256,
          hostname: ha.hostname,
          cpuModel: ha.cpu_model,
          exclude: storeA === store ? [sb.id] : [],
          placements: new Map(pa.map((p) => [p.key, p.cpus === null ? null : formatCpuList(p.cpus)])),
        });
  const keysA = new Set(pa.map((p) => p.key));
  const skippedB = new Map(sb.skipped.map((s) => [s.key, s.reason]));

  const failures: string[] = [];
  const inconclusive: string[] = [];
  const notes: string[] = [];
  // Missing points and an incomplete candidate: failures, or notes with --allow-missing.
  const missingOrAllowed = (line: string): void => {
    if (allowMissing) notes.push(`${line} (allowed: --allow-missing)`);
    else failures.push(line);
  };
  // The reasons that belong to no point (missing points have their own list, `missing`).
  const sweepChecks: SweepCheck[] = [];
  const sweepFailure = (reason: string): void => {
    failures.push(reason);
    sweepChecks.push({ verdict: 'fail', reason });
  };
  if (sb.status !== 'completed') {
    const line = `candidate sweep ${sb.id} is ${sb.status}: it did not complete`;
    if (allowMissing) missingOrAllowed(line);
    else sweepFailure(line);
  }
  if (sa.status !== 'completed') {
    const reason = `baseline sweep ${sa.id} is ${sa.status}: points it lacks were not judged`;
    inconclusive.push(reason);
    sweepChecks.push({ verdict: 'inconclusive', reason });
  }

  const points: PointComparison[] = [];
  const matched: [PointMeasures, PointMeasures][] = [];
  const missing: { key: string; reason: string }[] = [];
  for (const p of pa) {
    const q = byKeyB.get(p.key);
    if (q) {
      const latency = opts.maxP99Rise === undefined ? undefined : { a: storeA.latencyWindowsOf(sa.id, p.key), b: store.latencyWindowsOf(sb.id, q.key) };
      points.push(comparePoints(p, q, { tolerance, maxDiceDrop, drift: drift.host, maxP99Rise: opts.maxP99Rise, latency }));
      matched.push([p, q]);
      continue;
    }
    if (p.status !== 'ok') continue; // A failed it and B does not have it: nothing was lost
    const skip = skippedB.get(p.key);
    const reason = skip === undefined ? 'not run' : `skipped: ${skip}`;
    missing.push({ key: p.key, reason });
    missingOrAllowed(`missing in B: ${p.key} (${reason})`);
  }
  // Allowed (a check of the matching), but said: a sweep always equals itself.
  if (storeA === store && sa.id === sb.id) notes.push(`A and B are the same sweep (${sa.id}): it always equals itself`);
  const failuresBefore = failures.length;
  inputChecks(sa, sb, matched, failures, notes);
  if (points.length === 0) {
    // Points stored before migration 006 have no CPUs recorded, and keys of resolved values (cpi=80).
    const sides = [[sa, pa], [sb, pb]] as const;
    const legacy = sides.filter(([, ps]) => ps.some((p) => p.status === 'ok' && p.cpus === null)).map(([s]) => s.id);
    sweepFailure(
      `no point matched: A has ${pa.length} point(s), B ${pb.length}, no key in common` +
        (legacy.length ? `; sweep ${legacy.join(' and ')} was stored before keys held the declared values (cpi=auto, not its cores): record a new baseline` : ''),
    );
  }
  // Inputs that differ (another model or data) belong to the sweeps.
  for (const reason of failures.slice(failuresBefore)) if (!sweepChecks.some((c) => c.reason === reason)) sweepChecks.push({ verdict: 'fail', reason });
  for (const p of points) {
    for (const f of p.failures) failures.push(`${p.key}: ${f}`);
    for (const i of p.inconclusive) inconclusive.push(`${p.key}: ${i}`);
  }

  // Throughput verdicts are counted over the points that were judged (ok on both sides, not suspect).
  const judged = points.filter((p) => p.status.a === 'ok' && p.status.b === 'ok' && p.inconclusive.length === 0);
  const count = (v: Verdict) => judged.filter((p) => p.throughput.verdict === v).length;
  const verdict = failures.length > 0 ? 'regression' : inconclusive.length > 0 ? 'inconclusive' : 'pass';
  const hostDifferences = compareHosts(ha, hb);
  return {
    a: side(sa, ha, storeA),
    b: side(sb, hb, store),
    rule: COMPARE_RULE,
    tolerance,
    drift: { tau: drift.host?.tau ?? null, floor: drift.floor, sweeps: drift.sweeps, text: drift.text },
    maxDiceDrop,
    allowMissing,
    points,
    missing,
    onlyInB: pb.filter((p) => !keysA.has(p.key)).map((p) => p.key),
    hostDifferences,
    hostConfigurationChanges: hostDifferences.filter((d) => d.field.startsWith(CONFIG_FIELD_PREFIX)),
    sweepDifferences: differences(sa, sb, SWEEP_FIELDS),
    failures,
    inconclusive,
    notes,
    sweepChecks,
    maxP99Rise: opts.maxP99Rise ?? null,
    verdict,
    exitCode: verdict === 'regression' ? 1 : verdict === 'inconclusive' ? 3 : 0,
    summary: {
      matched: points.length,
      faster: count('faster'),
      slower: count('slower'),
      same: count('same'),
      inconclusive: points.filter((p) => p.failures.length === 0 && p.inconclusive.length > 0).length,
      failed: points.filter((p) => p.failures.length > 0).length,
    },
  };
}

const ratioCell = (ratio: number | null, verdict?: Verdict) =>
  ratio === null ? '-' : `${formatNumber(ratio, 3)}${verdict === 'faster' ? ' +' : verdict === 'slower' ? ' -' : ''}`;
const halfWidth = (i: IntervalUsed | null) => (i === null ? '-' : `±${pct(i.relativeHalfWidth)}`);
/** "5/8": the windows each side's figures come from ("-" for points stored before rounds). */
const windowsCell = (t: ThroughputJudgement) => `${t.measuring.a?.windows ?? '-'}/${t.measuring.b?.windows ?? '-'}`;
const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function pointVerdict(p: PointComparison): string {
  if (p.failures.length > 0) return 'REGRESSION';
  if (p.inconclusive.length > 0) return 'inconclusive';
  return p.throughput.verdict;
}

/** The block a reader sees before any figure: what changed in the host's configuration since A. */
function configurationChangeLines(changes: readonly HostDifference[]): string[] {
  if (changes.length === 0) return [];
  const shown = (v: unknown) => (v === null ? 'not exposed' : value(v));
  return [
    `host configuration changed since the baseline (${changes.length}):`,
    ...changes.map((d) => `  ${d.field.slice(CONFIG_FIELD_PREFIX.length)}: ${shown(d.a)} -> ${shown(d.b)} (${d.kind})`),
    '',
  ];
}

export function renderComparison(c: Comparison, format: 'table' | 'json' = 'table'): string {
  if (format === 'json') return JSON.stringify(c, null, 2) + '\n';
  // The database is named only when the two sides come from different files.
  const from = (s: SweepSide) => (c.a.database === c.b.database ? '' : ` in ${s.database}`);
  const title = (s: SweepSide) => `#${s.id} ${s.name}${s.tag ? ` [${s.tag}]` : ''} (${s.status}) ${s.started_at} on ${s.host}${from(s)}`;
  const out = [
    `A: ${title(c.a)}`,
    `B: ${title(c.b)}`,
    `rule: ${c.rule}; tolerance ${pct(c.tolerance)}, max Dice drop ${c.maxDiceDrop}${c.maxP99Rise === null ? '' : `, max p99 rise ${pct(c.maxP99Rise)}`}`,
    `host: ${c.drift.text}`,
    '',
    ...configurationChangeLines(c.hostConfigurationChanges),
  ];
  const rows = c.points.map((p) => [
    p.key,
    p.throughput.a,
    p.throughput.b,
    ratioCell(p.throughput.ratio, p.throughput.verdict),
    halfWidth(p.throughput.interval.a),
    halfWidth(p.throughput.interval.b),
    p.throughput.ratioInterval === null ? '-' : `${formatNumber(p.throughput.ratioInterval.low, 3)}-${formatNumber(p.throughput.ratioInterval.high, 3)}`,
    windowsCell(p.throughput),
    ratioCell(p.latency_p50.ratio),
    ratioCell(p.latency_p99.ratio),
    pointVerdict(p),
  ]);
  if (rows.length > 0) {
    out.push(formatTable(['point', 'A ips', 'B ips', 'tput B/A', 'A ci', 'B ci', 'B/A 95%', 'windows', 'p50 B/A', 'p99 B/A', 'verdict'], rows, { nullText: '-', maxWidth: 100 }));
  }
  const placed = c.points.filter((p) => p.placementChange !== null);
  if (placed.length) out.push('resolved differently on the two hosts:', ...placed.map((p) => `  ${p.key}: ${p.placementChange}`), '');
  if (c.onlyInB.length) out.push(`only in B (${c.onlyInB.length}):`, ...c.onlyInB.map((k) => `  ${k}`), '');
  const hostKind = (k: HostDifference['kind']) => c.hostDifferences.some((d) => d.kind === k);
  // The configuration's changes were listed first; the other host differences follow the figures.
  const others = c.hostDifferences.filter((d) => !d.field.startsWith(CONFIG_FIELD_PREFIX));
  out.push(
    c.hostDifferences.length === 0
      ? 'host: same fingerprint'
      : hostKind('machine')
        ? 'host differences (another machine):'
        : `host differences (same machine${hostKind('measurement') ? ', configuration that affects the figures changed' : ''}):`,
  );
  for (const d of others) out.push(`  ${d.field}: ${value(d.a)} -> ${value(d.b)} (${d.kind})`);
  if (c.hostConfigurationChanges.length > 0) out.push(`  and the ${c.hostConfigurationChanges.length} configuration change(s) listed at the top`);
  for (const d of c.sweepDifferences) out.push(`sweep ${d.field}: ${value(d.a)} -> ${value(d.b)}`);
  for (const n of c.notes) out.push(`note: ${n}`);
  if (c.failures.length) out.push('', `FAILED (${c.failures.length}):`, ...c.failures.map((f) => `  ${f}`));
  if (c.inconclusive.length) out.push('', `INCONCLUSIVE (${c.inconclusive.length}):`, ...c.inconclusive.map((f) => `  ${f}`));
  const s = c.summary;
  const word = c.verdict === 'regression' ? 'REGRESSION' : c.verdict === 'inconclusive' ? 'INCONCLUSIVE (rerun advised)' : 'PASS';
  out.push(
    '',
    `${s.matched} points matched: ${s.faster} faster, ${s.slower} slower, ${s.same} same (throughput), ` +
      `${s.inconclusive} inconclusive, ${s.failed} failed; ${c.missing.length} missing in B`,
    `verdict: ${word} (exit ${c.exitCode})`,
  );
  return out.join('\n') + '\n';
}
