import type { Store } from './store/store.js';
import { normalQuantile } from '../common/student-t.js';
import { logEstimateOf, driftFloor, type Drift } from './verdict-rule.js';

// The host's between-sweep drift, learned from its own history (docs/validity.md): for each point,
// the earlier comparable sweeps of the experiment on the same host (completed, not judged a
// regression by qualify, the point ok and not suspect, with an interval), newest MAX_SWEEPS of
// them. Each sweep i gives the point's log throughput m_i with its standard error se_i; what the
// m_i vary by beyond their own sampling error is the drift:
//     tau^2 = (Q - (k - 1)) / (sum w - sum w^2 / sum w),   w_i = 1 / se_i^2
// (DerSimonian and Laird's method-of-moments random effect, Q being Cochran's heterogeneity
// statistic sum w_i (m_i - weighted mean)^2), and 0 when Q lies below its 95th percentile under
// no drift (chi-square, k - 1 degrees of freedom): a spread the sweeps' own errors explain is not
// drift. A sweep judged a regression (sweep_verdicts) is left out of the history.
// With fewer than MIN_SWEEPS sweeps the drift is not known, and the gate says so.

export const MIN_SWEEPS = 3;
const Z95 = normalQuantile(0.95);
export const MAX_SWEEPS = 20;

export interface HostDrift {
  /** Per point key: its drift, from how many sweeps. */
  points: Map<string, Drift>;
  /** The comparable sweeps found (ids, newest first). */
  sweeps: number[];
  /** The median of the points' tau, null when no point has MIN_SWEEPS sweeps. */
  tau: number | null;
  /** The smallest change that drift lets the gate see (results/verdict-rule.ts driftFloor); null when unknown. */
  floor: number | null;
  /** In words: "between-sweep drift 1.2% (median of 5 points over 6 sweeps): smallest detectable change 4.3%". */
  text: string;
}

export interface DriftScope {
  experiment: string;
  hostname: string;
  cpuModel: string;
  /** Sweeps left out (the candidate). */
  exclude: number[];
}

/** Earlier comparable sweeps of `scope`, newest first (see the top of this file). */
export function comparableSweeps(store: Store, scope: DriftScope): number[] {
  const rows = store.db
    .prepare(
      `SELECT s.id FROM sweeps s JOIN hosts h ON h.id = s.host_id
        WHERE s.name = ? AND h.hostname = ? AND h.cpu_model = ? AND s.status = 'completed'
          AND NOT EXISTS (SELECT 1 FROM sweep_verdicts v WHERE v.sweep_id = s.id AND v.verdict = 'regression')
        ORDER BY s.started_at DESC, s.id DESC`,
    )
    .all(scope.experiment, scope.hostname, scope.cpuModel) as { id: number }[];
  return rows.map((r) => r.id).filter((id) => !scope.exclude.includes(id)).slice(0, MAX_SWEEPS);
}

/** The chi-square distribution's 95th percentile (Wilson-Hilferty; within 3 % of the exact value for 1 degree of freedom, closer above). */
function chiSquare95(df: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + Z95 * Math.sqrt(a)) ** 3;
}

/** One point's drift from its estimates in earlier sweeps (top of this file); null for fewer than MIN_SWEEPS. */
export function driftOf(es: readonly { mean: number; se: number }[]): Drift | null {
  if (es.length < MIN_SWEEPS) return null;
  const k = es.length;
  const w = es.map((e) => 1 / Math.max(e.se, 1e-9) ** 2);
  const sw = w.reduce((a, b) => a + b, 0);
  const centre = es.reduce((a, e, i) => a + w[i]! * e.mean, 0) / sw;
  const q = es.reduce((a, e, i) => a + w[i]! * (e.mean - centre) ** 2, 0);
  // No more spread than the sweeps' own errors explain (Cochran's Q below its 95th percentile): no drift.
  if (q <= chiSquare95(k - 1)) return { tau: 0, sweeps: k };
  const tau2 = (q - (k - 1)) / (sw - w.reduce((a, b) => a + b * b, 0) / sw);
  return { tau: Math.sqrt(Math.max(0, tau2)), sweeps: k };
}

export function learnDrift(store: Store, scope: DriftScope): HostDrift {
  const sweeps = comparableSweeps(store, scope);
  const perKey = new Map<string, { mean: number; se: number }[]>();
  for (const id of sweeps) {
    for (const p of store.pointMeasuresOf(id)) {
      if (p.status !== 'ok' || p.suspect_reasons.length > 0) continue;
      const e = logEstimateOf(p.throughput_ips, p.throughput_ci);
      if (e === null) continue;
      perKey.set(p.key, [...(perKey.get(p.key) ?? []), e]);
    }
  }
  const points = new Map<string, Drift>();
  for (const [key, es] of perKey) {
    const d = driftOf(es);
    if (d !== null) points.set(key, d);
  }
  const taus = [...points.values()].map((d) => d.tau).sort((a, b) => a - b);
  const tau = taus.length === 0 ? null : taus.length % 2 ? taus[(taus.length - 1) / 2]! : (taus[taus.length / 2 - 1]! + taus[taus.length / 2]!) / 2;
  const floor = tau === null ? null : driftFloor(tau);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const text =
    tau === null
      ? `between-sweep drift not yet known (${sweeps.length} comparable sweep${sweeps.length === 1 ? '' : 's'} on this host; ${MIN_SWEEPS} needed): intervals count each sweep's own variation only`
      : `between-sweep drift ${pct(tau)} (median over ${points.size} point(s), from up to ${Math.max(...[...points.values()].map((d) => d.sweeps))} comparable sweeps on this host): the smallest change it lets the gate see is ${pct(floor!)}`;
  return { points, sweeps, tau, floor, text };
}
