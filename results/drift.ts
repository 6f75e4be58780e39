import { formatCpuList } from '../common/cpulist.js';
import type { Store } from './store/store.js';
import { logEstimateOf, driftFloor, type Drift } from './verdict-rule.js';

// The host's between-sweep drift, learned from its own history (docs/validity.md). The history:
// the earlier comparable sweeps of the experiment on the same host: the same experiment text
// (SHA-256) and name, the same hostname and CPU model, each point on the same CPUs as in the
// baseline, completed, whose newest qualify verdict (if
// any) is not a regression, newest MAX_SWEEPS of them. Each gives each of its points (ok, not
// suspect, with an interval) a log throughput m and its standard error se.
//
// The drift is one figure for the host, pooled over its points (a host's speed moves all its
// points; a point's own 3 or 4 values could not tell it apart from chance): DerSimonian and
// Laird's method-of-moments estimate with the points' sums pooled,
//     tau^2 = max(0, (sum_p Q_p - sum_p (k_p - 1)) / sum_p (S1_p - S2_p / S1_p)),
// where for point p with k_p sweeps, w_i = 1 / se_i^2, S1 = sum w_i, S2 = sum w_i^2 and
// Q_p = sum w_i (m_i - weighted mean)^2 (Cochran's heterogeneity statistic). Its degrees of
// freedom, sum_p (k_p - 1), enter the verdict's Welch-Satterthwaite degrees of freedom. With fewer
// than MIN_SWEEPS sweeps the drift is not known, and the gate says so.

export const MIN_SWEEPS = 3;
export const MAX_SWEEPS = 20;

export interface HostDrift {
  /** The host's drift, used for every point; null when not yet known. */
  host: Drift | null;
  /** The comparable sweeps found (ids, newest first). */
  sweeps: number[];
  /** A lower bound on the change that drift lets the gate decide (results/verdict-rule.ts driftFloor); null when unknown. */
  floor: number | null;
  /** In words: "between-sweep drift 1.2 % (pooled over 5 points of 6 sweeps): no tolerance below 6.8 % can pass". */
  text: string;
}

export interface DriftScope {
  experiment: string;
  /** The experiment text's SHA-256: another experiment under the same name is not history. */
  experimentSha256: string;
  hostname: string;
  cpuModel: string;
  /** Sweeps left out (the candidate). */
  exclude: number[];
  /**
   * Each point's CPUs in the baseline ("0-1"): a history point placed elsewhere (another
   * --allowed-cpus, a host with fewer cores) measured another configuration, not the host's drift.
   */
  placements?: ReadonlyMap<string, string | null>;
}

/** Earlier comparable sweeps of `scope`, newest first (see the top of this file). */
export function comparableSweeps(store: Store, scope: DriftScope): number[] {
  const rows = store.db
    .prepare(
      `SELECT s.id FROM sweeps s JOIN hosts h ON h.id = s.host_id
        WHERE s.name = ? AND s.experiment_sha256 = ? AND h.hostname = ? AND h.cpu_model = ? AND s.status = 'completed'
          AND coalesce((SELECT v.verdict FROM sweep_verdicts v WHERE v.sweep_id = s.id ORDER BY v.id DESC LIMIT 1), '') <> 'regression'
        ORDER BY s.started_at DESC, s.id DESC`,
    )
    .all(scope.experiment, scope.experimentSha256, scope.hostname, scope.cpuModel) as { id: number }[];
  return rows.map((r) => r.id).filter((id) => !scope.exclude.includes(id)).slice(0, MAX_SWEEPS);
}

/** The pooled drift of points' estimates across sweeps (top of this file); null for fewer than MIN_SWEEPS sweeps. */
export function pooledDrift(perPoint: readonly (readonly { mean: number; se: number }[])[], sweeps: number): Drift | null {
  if (sweeps < MIN_SWEEPS) return null;
  let q = 0;
  let df = 0;
  let denominator = 0;
  for (const es of perPoint) {
    if (es.length < 2) continue;
    const w = es.map((e) => 1 / Math.max(e.se, 1e-9) ** 2);
    const s1 = w.reduce((a, b) => a + b, 0);
    const s2 = w.reduce((a, b) => a + b * b, 0);
    const centre = es.reduce((a, e, i) => a + w[i]! * e.mean, 0) / s1;
    q += es.reduce((a, e, i) => a + w[i]! * (e.mean - centre) ** 2, 0);
    df += es.length - 1;
    denominator += s1 - s2 / s1;
  }
  if (df === 0 || !(denominator > 0)) return null;
  return { tau: Math.sqrt(Math.max(0, (q - df) / denominator)), sweeps, df };
}

export function learnDrift(store: Store, scope: DriftScope): HostDrift {
  const sweeps = comparableSweeps(store, scope);
  const perKey = new Map<string, { mean: number; se: number }[]>();
  for (const id of sweeps) {
    for (const p of store.pointMeasuresOf(id)) {
      if (p.status !== 'ok' || p.suspect_reasons.length > 0) continue;
      const placed = scope.placements?.get(p.key);
      if (placed !== undefined && placed !== null && p.cpus !== null && formatCpuList(p.cpus) !== placed) continue;
      const e = logEstimateOf(p.throughput_ips, p.throughput_ci);
      if (e === null) continue;
      perKey.set(p.key, [...(perKey.get(p.key) ?? []), e]);
    }
  }
  const host = pooledDrift([...perKey.values()], sweeps.length);
  const floor = host === null ? null : driftFloor(host.tau);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const text =
    host === null
      ? `between-sweep drift not yet known (${sweeps.length} comparable sweep${sweeps.length === 1 ? '' : 's'} on this host; ${MIN_SWEEPS} needed): intervals count each sweep's own variation only`
      : `between-sweep drift ${pct(host.tau)} (pooled over ${perKey.size} point(s) of ${sweeps.length} comparable sweeps on this host): no tolerance below ${pct(floor!)} can pass an identical rerun, however long the points are measured`;
  return { host, sweeps, floor, text };
}
