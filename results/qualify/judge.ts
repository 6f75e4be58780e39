import { compareSweeps, judgeReference, type Comparison, type FigureCheck, type ThroughputReference } from '../compare.js';
import type { HostDifference } from '../store/host.js';
import type { Store, SweepRecord } from '../store/store.js';
import type { ResolvedBaseline } from '../baselines.js';
import type { HostMismatch } from '../types.js';

// `sweep qualify`'s verdict on one sweep: against its baseline sweep through compareSweeps (the
// intervals, the drift allowance, suspect points inconclusive, missing points failing), or, on a
// machine with no baseline yet, against the experiment's absolute reference for its CPU model
// (compare.ts judgeReference). The result is a list of rows, one per host check, sweep check and
// point figure: what the table, the JUnit file and the Markdown summary show.
//
// Verdict and exit code: a host that does not meet the experiment's host: expectations (judged
// with --force, which ran it anyway), or is another machine than the baseline's: 'host mismatch',
// exit 2; else any failing row: 'regression', exit 1; else any inconclusive row:
// 'inconclusive', exit 3 (rerun advised); else 'pass', exit 0.

export interface QualifyRules {
  /** Shares: 0.05 for 5 %. The throughput ratio's equivalence margin. */
  tolerance: number;
  p99Rise: number;
  /** Absolute hard Dice. */
  diceDrop: number;
}

/** An absolute reference that applies to this host (its cpu_model pattern matched). */
export interface ApplicableReference {
  cpuModel: string;
  tolerance: number;
  points: Record<string, number>;
  /** Where it is written ("experiments/x.yaml:31:7"). */
  source: string;
}

/** One of the experiment's host expectations as the sweep judged it (orchestrator/host-check.ts). */
export interface HostExpectationCheck extends HostMismatch {
  ok: boolean;
}

/** What the candidate is judged against. */
export type Reference =
  | { kind: 'baseline'; baseline: ResolvedBaseline }
  | { kind: 'reference'; reference: ApplicableReference }
  | { kind: 'none'; why: string };

export type RowVerdict = 'pass' | 'fail' | 'inconclusive' | 'changed' | 'not judged';

export interface QualifyRow {
  /** 'host', 'sweep', or a point key. */
  group: string;
  /** What is judged: a figure (throughput, latency_p99, dice, status) or a host field. */
  check: string;
  baseline: string | null;
  value: string | null;
  change: string | null;
  interval: string | null;
  verdict: RowVerdict;
  reason: string;
}

/** A point measured again (--confirm): why, and its verdict after. */
export interface ConfirmedPoint {
  key: string;
  firstReason: string;
  /** The point's worst verdict on the new measurement. */
  now: RowVerdict;
}

export interface Qualification {
  experiment: string;
  candidate: { id: number; tag: string | null; status: string; started_at: string; ended_at: string | null; host: string; cpu_model: string; database: string };
  against: string;
  rules: QualifyRules;
  /** Host differences from the baseline, listed before any figure. */
  hostDifferences: HostDifference[];
  rows: QualifyRow[];
  confirmed: ConfirmedPoint[];
  notes: string[];
  /** The comparison against the baseline sweep (ratio intervals, drift, stop reasons); null without one. */
  comparison: Comparison | null;
  verdict: 'pass' | 'regression' | 'inconclusive' | 'host mismatch';
  exitCode: 0 | 1 | 2 | 3;
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const num = (v: number | null): string | null => (v === null ? null : Number.isInteger(v) ? String(v) : v.toPrecision(4));

function figureRow(group: string, f: FigureCheck): QualifyRow {
  return { group, check: f.figure, baseline: num(f.baseline), value: num(f.candidate), change: f.change, interval: f.interval, verdict: f.verdict, reason: f.reason };
}

function hostRows(differences: HostDifference[]): QualifyRow[] {
  if (differences.length === 0) {
    return [{ group: 'host', check: 'configuration', baseline: null, value: null, change: null, interval: null, verdict: 'pass', reason: "same fingerprint as the baseline's host" }];
  }
  return differences.map((d) => ({
    group: 'host',
    check: d.field,
    baseline: show(d.a),
    value: show(d.b),
    change: null,
    interval: null,
    // Another machine makes every figure meaningless; a changed configuration is named, and the figures judge it.
    verdict: d.kind === 'machine' ? 'fail' : 'changed',
    reason: d.kind === 'machine' ? 'another machine than the baseline ran on' : `changed since the baseline (${d.kind}); the figures below say whether it mattered`,
  }));
}

function candidateOf(store: Store, sweep: SweepRecord): Qualification['candidate'] {
  const host = store.getHost(sweep.host_id);
  return { id: sweep.id, tag: sweep.tag, status: sweep.status, started_at: sweep.started_at, ended_at: sweep.ended_at, host: host.hostname, cpu_model: host.cpu_model, database: store.path };
}

function verdictOf(rows: QualifyRow[]): Pick<Qualification, 'verdict' | 'exitCode'> {
  if (rows.some((r) => r.group === 'host' && r.verdict === 'fail')) return { verdict: 'host mismatch', exitCode: 2 };
  if (rows.some((r) => r.verdict === 'fail')) return { verdict: 'regression', exitCode: 1 };
  if (rows.some((r) => r.verdict === 'inconclusive')) return { verdict: 'inconclusive', exitCode: 3 };
  return { verdict: 'pass', exitCode: 0 };
}

function expectationRows(checks: readonly HostExpectationCheck[]): QualifyRow[] {
  return checks.map((c) => ({
    group: 'host',
    check: `expected ${c.field}`,
    baseline: c.expected,
    value: c.found,
    change: null,
    interval: null,
    verdict: c.ok ? 'pass' : 'fail',
    reason: c.ok ? "meets the experiment's host expectation" : "does not meet the experiment's host expectation (run with --force; recorded on the sweep)",
  }));
}

/**
 * Judges sweep `candidateId` of `store` against `reference` by `rules`; `expectations` are the
 * experiment's host checks as the sweep made them, listed first.
 */
export function qualifySweep(store: Store, candidateId: number, reference: Reference, rules: QualifyRules, expectations: readonly HostExpectationCheck[] = []): Qualification {
  const sweep = store.getSweep(candidateId);
  if (!sweep) throw new Error(`results store ${store.path}: no sweep with id ${candidateId}`);
  const candidate = candidateOf(store, sweep);
  const rows: QualifyRow[] = expectationRows(expectations);
  const notes: string[] = [];
  let hostDifferences: HostDifference[] = [];
  let against: string;
  let comparison: Comparison | null = null;

  if (reference.kind === 'baseline') {
    const b = reference.baseline;
    against = `${b.how}: sweep ${b.sweep.id} started ${b.sweep.started_at}`;
    const c = compareSweeps(store, b.sweep.id, candidateId, { tolerance: rules.tolerance, maxDiceDrop: rules.diceDrop, maxP99Rise: rules.p99Rise });
    comparison = c;
    hostDifferences = c.hostDifferences;
    rows.push(...hostRows(c.hostDifferences));
    for (const d of c.sweepDifferences) notes.push(`sweep ${d.field}: ${show(d.a)} -> ${show(d.b)}`);
    for (const s of c.sweepChecks) rows.push({ group: 'sweep', check: 'sweep', baseline: null, value: null, change: null, interval: null, verdict: s.verdict, reason: s.reason });
    for (const p of c.points) for (const f of p.figures) rows.push(figureRow(p.key, f));
    for (const m of c.missing) rows.push({ group: m.key, check: 'status', baseline: 'ok', value: null, change: null, interval: null, verdict: 'fail', reason: `missing in this sweep: ${m.reason}` });
    for (const key of c.onlyInB) rows.push({ group: key, check: 'all', baseline: null, value: null, change: null, interval: null, verdict: 'not judged', reason: 'the baseline has no such point' });
    notes.push(...c.notes);
  } else if (reference.kind === 'reference') {
    const r = reference.reference;
    against = `reference for CPU model /${r.cpuModel}/ (${r.source}), ${Object.keys(r.points).length} point(s) at -${(r.tolerance * 100).toFixed(1)}%`;
    rows.push({ group: 'host', check: 'cpu_model', baseline: `/${r.cpuModel}/`, value: candidate.cpu_model, change: null, interval: null, verdict: 'pass', reason: 'the reference applies to this CPU model' });
    if (sweep.status !== 'completed') {
      rows.push({ group: 'sweep', check: 'sweep', baseline: null, value: null, change: null, interval: null, verdict: 'fail', reason: `sweep ${sweep.id} is ${sweep.status}: it did not complete` });
    }
    const measures = new Map(store.pointMeasuresOf(candidateId).map((p) => [p.key, p]));
    for (const [key, expected_ips] of Object.entries(r.points)) {
      const ref: ThroughputReference = { expected_ips, tolerance: r.tolerance, source: r.source };
      rows.push(figureRow(key, judgeReference(measures.get(key), ref)));
    }
    for (const key of measures.keys()) {
      if (!(key in r.points)) rows.push({ group: key, check: 'all', baseline: null, value: null, change: null, interval: null, verdict: 'not judged', reason: 'the reference has no figure for this point' });
    }
  } else {
    against = 'nothing';
    rows.push({ group: 'sweep', check: 'baseline', baseline: null, value: null, change: null, interval: null, verdict: 'inconclusive', reason: reference.why });
    // A sweep that did not complete, or a point that failed, fails without any baseline.
    if (sweep.status !== 'completed') {
      rows.push({ group: 'sweep', check: 'sweep', baseline: null, value: null, change: null, interval: null, verdict: 'fail', reason: `sweep ${sweep.id} is ${sweep.status}: it did not complete` });
    }
    // The figures are still shown: they are what a promotion of this sweep would keep.
    for (const p of store.pointMeasuresOf(candidateId)) {
      if (p.status === 'failed') {
        rows.push({ group: p.key, check: 'status', baseline: null, value: 'failed', change: null, interval: null, verdict: 'fail', reason: `failed: ${p.error ?? 'no error recorded'}` });
        continue;
      }
      const reason = p.suspect_reasons.length > 0 ? `suspect: ${p.suspect_reasons.join('; ')}` : 'nothing to judge it against';
      rows.push({ group: p.key, check: 'throughput', baseline: null, value: num(p.throughput_ips), change: null, interval: null, verdict: 'not judged', reason });
    }
  }
  return { experiment: sweep.name, candidate, against, rules, hostDifferences, rows, confirmed: [], notes, comparison, ...verdictOf(rows) };
}

/**
 * The points worth measuring further (--confirm), key -> why: each point with a failing figure
 * (a regression, a failed point), measured as suspect in the candidate, or with an undecided one. A point missing from
 * the sweep cannot be measured again here; one inconclusive for its baseline's sake gains nothing.
 */
export function pointsToConfirm(store: Store, q: Qualification): Map<string, string> {
  const stored = new Map(store.pointMeasuresOf(q.candidate.id).map((p) => [p.key, p]));
  const out = new Map<string, string>();
  for (const row of q.rows) {
    const point = stored.get(row.group);
    if (!point || out.has(row.group)) continue;
    if (row.verdict === 'fail') out.set(row.group, `${row.check} failed: ${row.reason}`);
  }
  for (const [key, point] of stored) {
    if (!out.has(key) && point.suspect_reasons.length > 0) out.set(key, `suspect: ${point.suspect_reasons.join('; ')}`);
  }
  // Undecided figures get more rounds too: too few windows decide nothing.
  for (const row of q.rows) {
    if (stored.has(row.group) && !out.has(row.group) && row.verdict === 'inconclusive') out.set(row.group, `${row.check} undecided: ${row.reason}`);
  }
  return out;
}

const SEVERITY: RowVerdict[] = ['pass', 'not judged', 'changed', 'inconclusive', 'fail'];

/** The confirmed points of a re-judged qualification: each with why it was measured again and its verdict now. */
export function withConfirmed(q: Qualification, measuredAgain: ReadonlyMap<string, string>): Qualification {
  const confirmed: ConfirmedPoint[] = [...measuredAgain].map(([key, firstReason]) => {
    const verdicts = q.rows.filter((r) => r.group === key).map((r) => r.verdict);
    const now = verdicts.reduce<RowVerdict>((worst, v) => (SEVERITY.indexOf(v) > SEVERITY.indexOf(worst) ? v : worst), 'pass');
    return { key, firstReason, now };
  });
  return { ...q, confirmed };
}
