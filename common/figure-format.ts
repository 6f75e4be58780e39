// Figures rounded to what they can support. A figure with a 95 % interval is written to the
// decimal of its half-width's second significant digit ("48.0 ±1.8", "412 ±12"): more digits
// would be noise. A figure without one keeps three significant digits ("56.7", "0.983").

/** Decimals that show `halfWidth` to two significant digits (1.8 -> 1, 12 -> 0, 0.034 -> 3). */
export function intervalDecimals(halfWidth: number): number {
  if (!(halfWidth > 0) || !Number.isFinite(halfWidth)) return 1;
  return Math.max(0, 1 - Math.floor(Math.log10(halfWidth)));
}

/** Decimals that show `value` to `digits` significant digits, never fewer than 0. */
export function significantDecimals(value: number, digits = 3): number {
  const a = Math.abs(value);
  if (!(a > 0) || !Number.isFinite(a)) return 0;
  return Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
}

/** `value` to three significant digits (more where it is large: 1234 stays 1234). */
export function roundedFigure(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(significantDecimals(value, digits));
}

export interface Interval {
  low: number;
  high: number;
}

/** Half the interval's width: what "±" states. */
export function halfWidth(ci: Interval): number {
  return (ci.high - ci.low) / 2;
}

/**
 * "48.0 ±1.8": the figure and its interval's half-width at the interval's precision; the figure
 * alone to three significant digits when it has no interval. The unit, when given, follows.
 */
export function figureWithInterval(value: number, ci: Interval | null, unit = ''): string {
  const tail = unit ? ` ${unit}` : '';
  if (!ci || !(halfWidth(ci) > 0)) return `${roundedFigure(value)}${tail}`;
  const d = intervalDecimals(halfWidth(ci));
  return `${value.toFixed(d)} ±${halfWidth(ci).toFixed(d)}${tail}`;
}

/** A ratio b/a with its interval from the two intervals (relative half-widths added), as "×1.12 ±0.05". */
export function ratioWithInterval(a: number, aCi: Interval | null, b: number, bCi: Interval | null): string {
  const ratio = b / a;
  if (!aCi || !bCi || !(a > 0) || !(b > 0)) return `×${ratio.toFixed(2)}`;
  const rel = halfWidth(aCi) / a + halfWidth(bCi) / b;
  const half = ratio * rel;
  const d = Math.max(2, intervalDecimals(half));
  return `×${ratio.toFixed(d)} ±${half.toFixed(d)}`;
}
