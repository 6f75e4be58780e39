// Number formatting that does not depend on the machine's locale, so the page is the same
// byte for byte wherever it is written.

function group(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Fixed decimals with thousands separators: 12345.678 -> "12,345.68". */
export function fixed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return String(value);
  const s = Math.abs(value).toFixed(decimals);
  const [i, f] = s.split('.');
  const sign = value < 0 && Number(s) !== 0 ? '-' : '';
  return sign + group(i!) + (f !== undefined ? `.${f}` : '');
}

/** Three significant figures or so, enough for throughput and latency. */
export function readable(value: number): string {
  const a = Math.abs(value);
  return fixed(value, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

/** Decimals a tick step needs (0.25 -> 2, 5 -> 0). */
export function stepDecimals(step: number): number {
  let d = 0;
  while (d < 6 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-9) d++;
  return d;
}
