import type { ThroughputInterval } from '../../results/types.js';
import { studentTQuantile } from '../../common/student-t.js';

// The 95 % confidence interval of a point's throughput, a Student t interval of the mean of the
// LOGS of its samples (so that comparisons take ratios, and a ratio's interval is a difference of
// logs; docs/validity.md):
// - 'repeats' (3 or more windows): over the windows' throughputs, one sample each. A sweep
//   measures its points in interleaved rounds, so the windows of a point lie across the sweep and
//   their spread holds the host's variation over it, not only one window's batch noise;
// - 'batch-means' (fewer windows): over the rates of equal time slices of each window's common
//   span (orchestrator/launch/common-window.ts), slices of at least MIN_BATCHES_PER_SLICE
//   batches so that neighbouring slices are close to independent; the slices of every window are
//   pooled. It sees one window's noise only, so a point never reaches its precision on it.
// The centre is exp(mean of logs): the geometric mean, the point's throughput. Too few samples
// for an interval gives none (null), never a made-up width.

/** Most slices per window: more would make them short and correlated. */
export const MAX_SLICES = 10;
/** Fewest batches (of the slowest instance) a slice must span. */
export const MIN_BATCHES_PER_SLICE = 2;
/** Fewest samples an interval is computed from. */
export const MIN_SAMPLES = 3;

/** t(0.975, df): the two-sided 95 % quantile of Student's t. */
export function tQuantile975(df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  return studentTQuantile(0.975, df);
}

/** Mean and standard error of the logs of positive samples. */
export function logMean(samples: readonly number[]): { mean: number; se: number; n: number } {
  const logs = samples.map((x) => Math.log(x));
  const n = logs.length;
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? logs.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, se: Math.sqrt(variance / n), n };
}

/** exp(mean log +- t(0.975, n-1) x se) of the samples; null for fewer than MIN_SAMPLES or any sample <= 0. */
export function meanInterval(samples: readonly number[], method: ThroughputInterval['method']): ThroughputInterval | null {
  if (samples.length < MIN_SAMPLES || samples.some((x) => !(x > 0))) return null;
  const { mean, se, n } = logMean(samples);
  const half = tQuantile975(n - 1) * se;
  return { low: Math.exp(mean - half), high: Math.exp(mean + half), method, samples: n };
}

/** How many slices a window with this few batches (of its slowest instance) is cut into. */
export function sliceCount(fewestBatches: number): number {
  return Math.min(MAX_SLICES, Math.floor(fewestBatches / MIN_BATCHES_PER_SLICE));
}

/**
 * The point's interval: from the windows' throughputs when there are 3 or more, else from the
 * pooled slice rates of its windows.
 */
export function throughputInterval(windowThroughputs: readonly number[], sliceRatesPerWindow: readonly (readonly number[])[]): ThroughputInterval | null {
  if (windowThroughputs.length >= MIN_SAMPLES) return meanInterval(windowThroughputs, 'repeats');
  return meanInterval(sliceRatesPerWindow.flat(), 'batch-means');
}

/** The geometric mean of positive figures (the centre of their interval). */
export function geometricMean(values: readonly number[]): number {
  return Math.exp(logMean(values).mean);
}

/** Half the interval's width over its centre, the geometric mean of its ends (what a point's precision is judged by). */
export function relativeHalfWidth(ci: ThroughputInterval): number {
  return (ci.high - ci.low) / (2 * Math.sqrt(ci.low * ci.high));
}
