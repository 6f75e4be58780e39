import { countersMoved } from './counter-moves.js';
import { formatCpuList } from '../common/cpulist.js';
import { formatNumber, formatTable } from '../common/format-table.js';
import type { HostRecord, PointMeasures, Store, SweepRecord } from './store/store.js';
import { compareHosts, CONFIG_FIELD_PREFIX, type HostDifference } from './store/host.js';

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
// Throughput rule. Every point carries a 95 % interval for its throughput (from its repeats when
// it has 3 or more, else batch means over its own timed window). B is 'slower' when its whole
// interval lies below A's (B.high < A.low) AND B/A < 1 - max(minChange, drift); 'faster' when
// B.low > A.high and B/A > 1 + minChange. The intervals measure one sweep's noise only: a
// sweep's repeats run back to back and batch means span one window, so neither sees how far a
// host drifts between two sweeps (a quieter minute, another turbo state). A fall beyond the
// intervals but within `drift` (default 10 %; measure a host's with bench/false-alarm.ts) is
// therefore 'inconclusive' (rerun), never a regression: an identical rerun does not page anyone.
// When neither holds and the intervals' relative half-widths add up to more than minChange, a
// change of minChange could hide inside them: 'inconclusive', not 'same'. Latency is shown
// (B/A of p50 and p99) but not judged unless `maxP99Rise` is given (`sweep qualify`'s rule): it
// has no interval, so a p99 above A's by more than that fails, and a suspect point is inconclusive.
//
// Each point also lists its verdict figure by figure (`figures`: status, throughput, p99, Dice),
// and the comparison the reasons that belong to no point (`sweepChecks`), for reports that give
// one line or one test case per figure. `judgeReference` applies the same interval rule to an
// absolute reference (an expected img/s with a tolerance) when there is no baseline sweep.

export const DEFAULT_MIN_CHANGE = 0.05;
/** How far a host's throughput may drift between two sweeps of the same configuration. */
export const DEFAULT_DRIFT = 0.1;
export const DEFAULT_MAX_DICE_DROP = 0.002;

export const COMPARE_RULE =
  "throughput 'slower' when B's 95 % interval lies wholly below A's and B/A < 1 - max(min change, drift) ('faster': above, beyond min change); " +
  "'inconclusive' when it is below the intervals but within the drift allowance, " +
  "'inconclusive' when neither and the intervals' half-widths add up to more than min change, or a point is suspect " +
  'or has no interval; regression = slower, Dice down by more than max Dice drop, or failed/missing in B';

export type Verdict = 'faster' | 'slower' | 'same' | 'inconclusive';

export interface CompareOptions {
  /** Smallest relative throughput change ever flagged, whatever the intervals (default 0.05). */
  minChange?: number;
  /** Fall the host may drift between sweeps: below the intervals but within it is inconclusive (default 0.1). */
  drift?: number;
  /** Largest fall in hard Dice (absolute) that is not a regression (default 0.002). */
  maxDiceDrop?: number;
  /** Points of A missing from B, and an incomplete B, are notes instead of failures. */
  allowMissing?: boolean;
  /** Where the baseline sweep is, when not in the candidate's store: another machine's or an archived database. */
  baselineStore?: Store;
  /** Largest relative rise of p99 latency that is not a regression; unset: p99 is shown, not judged. */
  maxP99Rise?: number;
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
  verdict: Verdict;
  /** Why the verdict, in words ("B's interval lies below A's", "intervals too wide ..."). */
  why: string;
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
  latency_p99: RatioOnly;
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
  minChange: number;
  drift: number;
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
  return `in their timed windows (all instances and repeats), B's instances ran ${pct(b.cpu_share)} of their CPUs' time (A ${pct(a.cpu_share)}) and finished ${formatNumber(work, 3)}x A's images per CPU-second`;
}

/** The throughput rule (top of this file) for two ok points; pure. */
export function judgeThroughput(a: PointMeasures, b: PointMeasures, minChange: number, drift = DEFAULT_DRIFT): ThroughputJudgement {
  const ratio = a.throughput_ips !== null && b.throughput_ips !== null && a.throughput_ips > 0 ? b.throughput_ips / a.throughput_ips : null;
  const ia = intervalUsed(a);
  const ib = intervalUsed(b);
  const base = { a: a.throughput_ips, b: b.throughput_ips, ratio, interval: { a: ia, b: ib } };
  if (ratio === null) return { ...base, verdict: 'inconclusive', why: 'no throughput to compare' };
  if (ia === null || ib === null) {
    const which = ia === null && ib === null ? 'A and B' : ia === null ? 'A' : 'B';
    return { ...base, verdict: 'inconclusive', why: `no throughput interval in ${which}` };
  }
  const intervals = `A ±${pct(ia.relativeHalfWidth)} (${ia.method}), B ±${pct(ib.relativeHalfWidth)} (${ib.method})`;
  if (ib.high < ia.low && ratio < 1 - minChange) {
    const use = cpuUse(a, b);
    const cpu = [use, countersMoved(a.counters, b.counters)].map((x) => (x === null ? '' : `; ${x}`)).join('');
    if (ratio >= 1 - drift) {
      return {
        ...base,
        verdict: 'inconclusive',
        why: `throughput ${formatNumber(ratio, 3)}x: below A's interval but within the ${pct(drift)} a host may drift between sweeps (--drift); rerun; ${intervals}${cpu}`,
      };
    }
    return { ...base, verdict: 'slower', why: `throughput ${formatNumber(ratio, 3)}x: B's interval lies below A's, beyond the ${pct(drift)} drift allowance; ${intervals}${cpu}` };
  }
  if (ib.low > ia.high && ratio > 1 + minChange) {
    return { ...base, verdict: 'faster', why: `throughput ${formatNumber(ratio, 3)}x: B's interval lies above A's; ${intervals}` };
  }
  if (ia.relativeHalfWidth + ib.relativeHalfWidth > minChange) {
    return { ...base, verdict: 'inconclusive', why: `intervals too wide to see a change of ${pct(minChange)}: ${intervals}` };
  }
  // Outside each other's intervals but by less than minChange: a change too small to count.
  const apart = ib.high < ia.low || ib.low > ia.high;
  return { ...base, verdict: 'same', why: apart ? `throughput ${formatNumber(ratio, 3)}x: beyond the intervals but within the ${pct(minChange)} change that counts; ${intervals}` : `within the intervals: ${intervals}` };
}

function ratioOnly(a: number | null, b: number | null): RatioOnly {
  return { a, b, ratio: a !== null && b !== null && a > 0 ? b / a : null };
}

function placementOf(p: PointMeasures): string {
  const where = [p.cpus === null ? null : `CPUs ${formatCpuList(p.cpus)}`, p.nodes === null ? null : `nodes ${formatCpuList(p.nodes)}`].filter((x) => x !== null);
  return `${p.cores_per_instance} cores/instance${where.length ? ` on ${where.join(', ')}` : ''}`;
}

/** One matched point; `a` and `b` carry the same key. */
export function comparePoints(
  a: PointMeasures,
  b: PointMeasures,
  minChange: number,
  maxDiceDrop = DEFAULT_MAX_DICE_DROP,
  drift = DEFAULT_DRIFT,
  maxP99Rise?: number,
): PointComparison {
  const failures: string[] = [];
  const inconclusive: string[] = [];
  const figures: FigureCheck[] = [];
  const throughput = judgeThroughput(a, b, minChange, drift);
  const p99 = ratioOnly(a.latency_p99_ms, b.latency_p99_ms);
  const placementA = placementOf(a);
  const placementB = placementOf(b);
  const status = { baseline: null, candidate: null, change: null, interval: null };
  const tputFigure = { baseline: a.throughput_ips, candidate: b.throughput_ips, change: ratioText(throughput.ratio), interval: intervalText(throughput) };
  const p99Figure = { baseline: p99.a, candidate: p99.b, change: ratioText(p99.ratio), interval: null };
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
        if (p99.ratio === null) {
          const reason = 'no p99 latency to compare';
          inconclusive.push(reason);
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'inconclusive', reason });
        } else if (p99.ratio > 1 + maxP99Rise) {
          const reason = `p99 latency ${formatNumber(p99.ratio, 3)}x: up by more than ${pct(maxP99Rise)}`;
          failures.push(reason);
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'fail', reason });
        } else {
          figures.push({ figure: 'latency_p99', ...p99Figure, verdict: 'pass', reason: `within the allowed rise of ${pct(maxP99Rise)}` });
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
  const side = (i: IntervalUsed | null) => (i === null ? 'none' : `±${pct(i.relativeHalfWidth)} (${i.method})`);
  return t.interval.a === null && t.interval.b === null ? null : `A ${side(t.interval.a)}, B ${side(t.interval.b)}`;
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
  const minChange = opts.minChange ?? DEFAULT_MIN_CHANGE;
  const maxDiceDrop = opts.maxDiceDrop ?? DEFAULT_MAX_DICE_DROP;
  const drift = opts.drift ?? DEFAULT_DRIFT;
  const allowMissing = opts.allowMissing ?? false;
  const storeA = opts.baselineStore ?? store;
  const sa = storeA.findSweep(a);
  const sb = store.findSweep(b);
  const ha = storeA.getHost(sa.host_id);
  const hb = store.getHost(sb.host_id);
  const pa = storeA.pointMeasuresOf(sa.id);
  const pb = store.pointMeasuresOf(sb.id);
  const byKeyB = new Map(pb.map((p) => [p.key, p]));
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
      points.push(comparePoints(p, q, minChange, maxDiceDrop, drift, opts.maxP99Rise));
      matched.push([p, q]);
      continue;
    }
    if (p.status !== 'ok') continue; // A failed it and B does not have it: nothing was lost
    const skip = skippedB.get(p.key);
    const reason = skip === undefined ? 'not run' : `skipped: ${skip}`;
    missing.push({ key: p.key, reason });
    missingOrAllowed(`missing in B: ${p.key} (${reason})`);
  }
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
    minChange,
    drift,
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
const methods = (t: ThroughputJudgement) => {
  const m = [t.interval.a?.method ?? 'none', t.interval.b?.method ?? 'none'];
  return m[0] === m[1] ? m[0] : `${m[0]}/${m[1]}`;
};
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
    `rule: ${c.rule}; min change ${pct(c.minChange)}, drift ${pct(c.drift)}, max Dice drop ${c.maxDiceDrop}`,
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
    methods(p.throughput),
    ratioCell(p.latency_p50.ratio),
    ratioCell(p.latency_p99.ratio),
    pointVerdict(p),
  ]);
  if (rows.length > 0) {
    out.push(formatTable(['point', 'A ips', 'B ips', 'tput B/A', 'A ci', 'B ci', 'interval', 'p50 B/A', 'p99 B/A', 'verdict'], rows, { nullText: '-', maxWidth: 100 }));
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
