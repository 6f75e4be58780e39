import type { ThroughputInterval } from './types.js';
import type { PointMeasures } from './store/records.js';

// A sweep counted whole, from what its database holds: every point it planned, whether it ran
// in this process or before a --resume. The sweep's last line, its JSON summary and the report
// say the same counts.

export type Validity = 'ok' | 'suspect' | 'failed';

/** A point's validity, as the `results` view's `validity` column (migration 013) gives it. */
export function validityOf(p: { status: string; suspect_reasons: readonly string[] }): Validity {
  if (p.status !== 'ok') return 'failed';
  return p.suspect_reasons.length > 0 ? 'suspect' : 'ok';
}

export interface SweepTally {
  /** Every point the matrix planned, the ones skipped (did not fit) included. */
  planned: number;
  ok: number;
  suspect: number;
  failed: number;
  /** Planned but not placed on this machine (they do not fit). */
  skipped: number;
  /** Placed but not stored (the sweep was interrupted before them). */
  not_run: number;
  /**
   * The highest throughput stored for the sweep among its ok points, suspect ones only when no
   * point is ok; null when none has a throughput.
   */
  best: { key: string; throughput_ips: number; throughput_ci: ThroughputInterval | null; suspect: boolean } | null;
}

export function tallySweep(stored: readonly PointMeasures[], placed: number, skipped: number): SweepTally {
  const counts = { ok: 0, suspect: 0, failed: 0 };
  for (const p of stored) counts[validityOf(p)]++;
  const withFigure = (v: Validity) =>
    stored.filter((p) => validityOf(p) === v && p.throughput_ips !== null && Number.isFinite(p.throughput_ips));
  const pool = withFigure('ok').length > 0 ? withFigure('ok') : withFigure('suspect');
  const top = [...pool].sort((a, b) => b.throughput_ips! - a.throughput_ips! || (a.key < b.key ? -1 : 1))[0];
  return {
    planned: placed + skipped,
    ...counts,
    skipped,
    not_run: Math.max(0, placed - stored.length),
    best: top ? { key: top.key, throughput_ips: top.throughput_ips!, throughput_ci: top.throughput_ci, suspect: validityOf(top) === 'suspect' } : null,
  };
}
