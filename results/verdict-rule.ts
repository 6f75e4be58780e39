import { normalQuantile, studentTQuantile } from '../common/student-t.js';
import type { ThroughputInterval } from './types.js';

// The gate's one rule, used by `sweep compare`, `sweep qualify` and the benches (docs/validity.md): an EQUIVALENCE verdict on the ratio B/A.
//
// Each side is a point's throughput as a mean of logs with its standard error and degrees of
// freedom, read back from its stored 95 % interval (orchestrator/launch/interval.ts stores
// exp(m +- t(0.975, df) x se)). The log ratio d = mB - mA has the variance
//     seA^2 + seB^2 + 2 tau^2,
// where tau is the point's between-sweep drift learned from the host's earlier sweeps (each side
// is one sweep, each carries one draw of it; results/drift.ts), with Welch-Satterthwaite degrees
// of freedom over the three terms. The 95 % interval of B/A is exp(d +- t(0.975, df) x se).
//   pass          the interval lies inside [1 - tol, 1 + tol]
//   regression    it lies wholly below 1 - tol
//   faster        it lies wholly above 1 + tol
//   inconclusive  otherwise
// The smallest change a comparison can decide is exp((t + z(0.975)) x se) - 1: at a tolerance
// that large an identical rerun passes with 95 % probability (a pass needs both bounds inside,
// and the upper one, ln(1 + tol) < |ln(1 - tol)|, binds first), and a change of twice it is
// caught with more than 95 %. It is per point: a sweep passes when every point does.

export type RatioVerdict = 'pass' | 'regression' | 'faster' | 'inconclusive';

/** One side's throughput on the log scale. */
export interface LogEstimate {
  mean: number;
  se: number;
  df: number;
}

/** The between-sweep drift of a host's log throughput, learned from `sweeps` earlier sweeps with `df` degrees of freedom. */
export interface Drift {
  tau: number;
  sweeps: number;
  df: number;
}

export interface RatioJudgement {
  ratio: number;
  low: number;
  high: number;
  df: number;
  /** Standard error of the log ratio, drift included. */
  se: number;
  tolerance: number;
  verdict: RatioVerdict;
  /** The smallest relative change this comparison could have decided (see the top of this file). */
  smallestDetectable: number;
  /** The share of the log ratio's variance that the learned drift contributes (0 without one). */
  driftShare: number;
}

const Z975 = normalQuantile(0.975);

/** A stored interval back on the log scale; null when it cannot be (no interval, a bound <= 0). */
export function logEstimateOf(centre: number | null, ci: ThroughputInterval | null): LogEstimate | null {
  if (centre === null || !(centre > 0) || ci === null || !(ci.low > 0) || !(ci.high > ci.low) || ci.samples < 2) return null;
  const df = ci.samples - 1;
  const se = (Math.log(ci.high) - Math.log(ci.low)) / (2 * studentTQuantile(0.975, df));
  return { mean: Math.log(centre), se, df };
}

/** B/A judged at `tolerance` (a share: 0.05 for 5 %), widened by `drift` when known. */
export function judgeRatio(a: LogEstimate, b: LogEstimate, tolerance: number, drift: Drift | null = null): RatioJudgement {
  const va = a.se ** 2;
  const vb = b.se ** 2;
  const vd = drift === null ? 0 : 2 * drift.tau ** 2;
  const variance = va + vb + vd;
  const se = Math.sqrt(variance);
  // Welch-Satterthwaite over the three variance terms, the drift's with its own degrees of freedom.
  const denominator = va ** 2 / a.df + vb ** 2 / b.df + (drift === null || vd === 0 ? 0 : vd ** 2 / Math.max(1, drift.df));
  const df = denominator > 0 ? variance ** 2 / denominator : Infinity;
  const t = se > 0 ? studentTQuantile(0.975, df) : 0;
  const d = b.mean - a.mean;
  const low = Math.exp(d - t * se);
  const high = Math.exp(d + t * se);
  const verdict: RatioVerdict = high < 1 - tolerance ? 'regression' : low > 1 + tolerance ? 'faster' : low >= 1 - tolerance && high <= 1 + tolerance ? 'pass' : 'inconclusive';
  return {
    ratio: Math.exp(d),
    low,
    high,
    df,
    se,
    tolerance,
    verdict,
    smallestDetectable: Math.exp((t + Z975) * se) - 1,
    driftShare: variance > 0 ? vd / variance : 0,
  };
}

/**
 * A lower bound on the change a host's drift lets the gate decide: both sides measured exactly
 * (no within-sweep error at all), exp(2 x z(0.975) x sqrt(2) x tau) - 1. A usable tolerance is
 * larger, by what the points' own intervals add.
 */
export function driftFloor(tau: number): number {
  return Math.exp(2 * Z975 * Math.SQRT2 * tau) - 1;
}
