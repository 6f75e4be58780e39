// The fleet's outlier decision, made once over all its hosts so that a fleet ten times larger
// does not page ten times as often by chance (docs/fleet.md, "How many false outliers").
//
// 1. Each host's robust z on its judged points (robust-score.ts) are combined into one score,
//    Stouffer's Z = sum(z) / sqrt(k) over its k points: for a host in line, with independent
//    normal noise, Z is standard normal whatever k is; a host slow on every point adds up.
// 2. Z becomes a one-sided p-value from the normal distribution: P(a host in line scores this low),
//    and for fast hosts the other tail.
// 3. Benjamini and Hochberg's step-up procedure over the m hosts' p-values: sorted ascending, the
//    largest rank k with p(k) <= k q / m, and every host up to it, is discovered. The expected share
//    of hosts named wrongly among those named is then at most q (for independent hosts), so the
//    expected number of false outliers in a night that names R hosts is at most q R.

/** Default false discovery rate: at most 1 in 100 hosts named is expected to be in line. */
export const DEFAULT_FDR = 0.01;

/**
 * The complementary error function, Numerical Recipes' Chebyshev fit (relative error under
 * 1.2e-7 everywhere, the far tails included: a p-value of 1e-100 keeps its size).
 */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z <= z) for a standard normal Z. */
export function normalLowerTail(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Stouffer's combination of a host's per-point scores. */
export function stouffer(z: readonly number[]): number {
  return z.reduce((a, b) => a + b, 0) / Math.sqrt(z.length);
}

export interface Discoveries {
  /** Indices (into the p-values given) discovered. */
  found: Set<number>;
  /** The largest p-value discovered, or null when none is. */
  cut: number | null;
}

/** Benjamini-Hochberg at rate q over `p`. */
export function benjaminiHochberg(p: readonly number[], q: number): Discoveries {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let last = -1;
  for (let k = 0; k < m; k++) if (p[order[k]!]! <= ((k + 1) * q) / m) last = k;
  return { found: new Set(order.slice(0, last + 1)), cut: last < 0 ? null : p[order[last]!]! };
}
