import { mixSeed, Rng, textSeed } from '../common/prng.js';
import { percentileSorted } from '../common/stats.js';

// The 95 % interval of a p99 latency ratio B/A, by bootstrap (docs/validity.md): each side's
// per-batch latencies are grouped by window (all instances of a repeat together); one replicate
// draws that many windows with replacement, then within each drawn window that many batches with
// replacement, and takes the p99 of the pool, so the interval counts the variation between
// windows as well as between batches. Replicates of A and B are paired in order; the ratio's
// interval is the 2.5th and 97.5th percentiles of their ratios (1000 replicates). With fewer than MIN_P99_SAMPLES
// batches on a side, p99 is one of the few slowest batches, and the figure is not judged.

export const MIN_P99_SAMPLES = 100;
// 1000: 25 replicates in each 2.5 % tail.
const REPLICATES = 1000;

export interface P99Ratio {
  ratio: number;
  low: number;
  high: number;
  samples: { a: number; b: number };
}

/** The k-th smallest value (0-based), reordering `values` in place (Hoare's selection, expected linear time). */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/** The 99th percentile with linear interpolation, as common/stats.ts computes it, without a sort. */
function p99(values: Float64Array): number {
  const rank = 0.99 * (values.length - 1);
  const lo = Math.floor(rank);
  const a = select(values, lo);
  if (lo + 1 >= values.length) return a;
  // After selecting lo, the next order statistic is the smallest value above position lo.
  let b = Infinity;
  for (let i = lo + 1; i < values.length; i++) if (values[i]! < b) b = values[i]!;
  return a + (rank - lo) * (b - a);
}

function replicates(windows: readonly (readonly number[])[], rng: Rng): number[] {
  const out: number[] = [];
  for (let r = 0; r < REPLICATES; r++) {
    const drawn = Array.from({ length: windows.length }, () => windows[Math.floor(rng.next() * windows.length)]!);
    const pool = new Float64Array(drawn.reduce((s, w) => s + w.length, 0));
    let n = 0;
    for (const win of drawn) for (let i = 0; i < win.length; i++) pool[n++] = win[Math.floor(rng.next() * win.length)]!;
    out.push(p99(pool));
  }
  return out;
}

/** Seeded by the point's key, so the same data gives the same interval. */
function keySeed(key: string): number {
  return mixSeed(textSeed(key), 99);
}

/** Null when either side has fewer than MIN_P99_SAMPLES batches. */
export function p99RatioInterval(key: string, a: readonly (readonly number[])[], b: readonly (readonly number[])[]): P99Ratio | null {
  const na = a.reduce((s, w) => s + w.length, 0);
  const nb = b.reduce((s, w) => s + w.length, 0);
  if (na < MIN_P99_SAMPLES || nb < MIN_P99_SAMPLES) return null;
  const rng = new Rng(keySeed(key));
  const ra = replicates(a, rng);
  const rb = replicates(b, rng);
  const ratios = ra.map((x, i) => rb[i]! / x).sort((x, y) => x - y);
  return { ratio: p99(Float64Array.from(b.flat())) / p99(Float64Array.from(a.flat())), low: percentileSorted(ratios, 2.5), high: percentileSorted(ratios, 97.5), samples: { a: na, b: nb } };
}

/** Fewest batches a side had, for the "too few" reason. */
export function sampleCount(windows: readonly (readonly number[])[]): number {
  return windows.reduce((s, w) => s + w.length, 0);
}
