import { mean } from '../../common/stats.js';
import type { ThroughputInterval } from '../../results/types.js';

// The 95 % confidence interval of a point's throughput, a Student t interval of a mean:
// - 'repeats' (3 or more repeats): over the repeats' throughputs, one sample each;
// - 'batch-means' (fewer repeats): over the rates of equal time slices of each repeat's common
//   window (orchestrator/launch/common-window.ts), slices of at least MIN_BATCHES_PER_SLICE
//   batches so that neighbouring slices are close to independent; the slices of every repeat
//   are pooled. Too few slices for an interval gives none (null), never a made-up width.

/** Most slices per window: more would make them short and correlated. */
export const MAX_SLICES = 10;
/** Fewest batches (of the slowest instance) a slice must span. */
export const MIN_BATCHES_PER_SLICE = 2;
/** Fewest samples an interval is computed from. */
export const MIN_SAMPLES = 3;

// Two-sided 95 % quantiles of Student's t, t(0.975, df), for df = 1..30.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t(0.975, df); beyond 30 degrees of freedom the tabulated values at 40, 60 and 120, then the normal 1.96. */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a whole number >= 1, got ${df}`);
  if (df <= 30) return T975[df - 1]!;
  if (df <= 40) return 2.021;
  if (df <= 60) return 2.0;
  if (df <= 120) return 1.98;
  return 1.96;
}

/** Mean +- t(0.975, n-1) x s / sqrt(n) of the samples (low bound at least 0); null for fewer than MIN_SAMPLES. */
export function meanInterval(samples: readonly number[], method: ThroughputInterval['method']): ThroughputInterval | null {
  const n = samples.length;
  if (n < MIN_SAMPLES) return null;
  const centre = mean(samples);
  const variance = samples.reduce((sum, x) => sum + (x - centre) ** 2, 0) / (n - 1);
  const half = tQuantile975(n - 1) * Math.sqrt(variance / n);
  // A throughput is never negative: a very wide interval stops at 0.
  return { low: Math.max(0, centre - half), high: centre + half, method, samples: n };
}

/** How many slices a window with this few batches (of its slowest instance) is cut into. */
export function sliceCount(fewestBatches: number): number {
  return Math.min(MAX_SLICES, Math.floor(fewestBatches / MIN_BATCHES_PER_SLICE));
}

/**
 * The point's interval: from the repeats' throughputs when there are 3 or more, else from the
 * pooled slice rates of its repeats' windows.
 */
export function throughputInterval(repeatThroughputs: readonly number[], sliceRatesPerRepeat: readonly (readonly number[])[]): ThroughputInterval | null {
  if (repeatThroughputs.length >= MIN_SAMPLES) return meanInterval(repeatThroughputs, 'repeats');
  return meanInterval(sliceRatesPerRepeat.flat(), 'batch-means');
}
