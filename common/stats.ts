// Summary statistics, one copy for every layer: median, mean, percentiles and latency
// summaries. Percentiles interpolate linearly between the two closest ranks: the p-th percentile of sorted x[0..n-1] is at rank r = p/100 * (n - 1),
// x[floor r] + (r - floor r) * (x[floor r + 1] - x[floor r]), numpy's default ('linear').

export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function requireSamples(samples: readonly number[], what: string): void {
  if (samples.length === 0) throw new RangeError(`${what} of no samples`);
}

function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/** Percentile of already sorted samples, p in [0, 100]. */
export function percentileSorted(ascending: readonly number[], p: number): number {
  requireSamples(ascending, `percentile ${p}`);
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (ascending.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, ascending.length - 1);
  const a = ascending[lo]!;
  return a + (rank - lo) * (ascending[hi]! - a);
}

/** The p-th percentile (p in [0, 100]) of samples in any order. */
export function percentile(samples: readonly number[], p: number): number {
  return percentileSorted(sorted(samples), p);
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function mean(samples: readonly number[]): number {
  requireSamples(samples, 'mean');
  let sum = 0;
  for (const x of samples) sum += x;
  return sum / samples.length;
}

/** mean, p50, p90, p99 and max of latency samples (any unit; the runner uses ms). */
export function summarize(samples: readonly number[]): LatencySummary {
  const s = sorted(samples);
  requireSamples(s, 'latency summary');
  return {
    mean: mean(s),
    p50: percentileSorted(s, 50),
    p90: percentileSorted(s, 90),
    p99: percentileSorted(s, 99),
    max: s[s.length - 1]!,
  };
}


/** Median absolute deviation: the median of |x - median(x)|, in the samples' unit (not scaled to a standard deviation). */
export function medianAbsoluteDeviation(samples: readonly number[]): number {
  const m = median(samples);
  return median(samples.map((x) => Math.abs(x - m)));
}
