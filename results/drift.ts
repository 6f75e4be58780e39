import type { Store } from './store/store.js';
import { logEstimateOf, driftFloor, type Drift } from './verdict-rule.js';

// The host's between-sweep drift, learned from its own history (docs/validity.md): for each point,
// the earlier comparable sweeps of the experiment on the same host (completed, not judged a
// regression by qualify, the point ok and not suspect, with an interval), newest MAX_SWEEPS of
// them. Each sweep i gives the point's log throughput m_i with its standard error se_i; what the
// m_i vary by beyond their own sampling error is the drift:
//     tau^2 = max(0, s_m^2 - mean(se_i^2))          (a method-of-moments random effect)
// with s_m the robust standard deviation of the m_i (1.4826 x their median absolute deviation).
// With fewer than MIN_SWEEPS sweeps the drift is not known, and the gate says so.

export const MIN_SWEEPS = 3;
const MAD_TO_SD = 1.4826;

function medianOf(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
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
    if (es.length < MIN_SWEEPS) continue;
    // Robust spread (1.4826 x the median absolute deviation): one night that regressed, or ran on
    // a disturbed host without being judged, does not become the host's drift.
    const means = es.map((e) => e.mean);
    const centre = medianOf(means);
    const spread = MAD_TO_SD * medianOf(means.map((m) => Math.abs(m - centre)));
    const variance = spread ** 2;
    const sampling = es.reduce((a, e) => a + e.se ** 2, 0) / es.length;
    points.set(key, { tau: Math.sqrt(Math.max(0, variance - sampling)), sweeps: es.length });
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
