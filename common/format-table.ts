// Aligned text tables for a terminal: numbers right-aligned and rounded for reading, with the
// same decimals down a column (machine formats keep full precision); long or multi-line text
// cut to one line.

export interface TableOptions {
  /** How NULL / missing values read; 'NULL' for SQL output, '-' for summaries. */
  nullText?: string;
  /** Widest a text cell may be before it is cut with an ellipsis. */
  maxWidth?: number;
  /** Print "(N rows)" under the table. */
  rowCount?: boolean;
  /** Columns (by header) right-aligned although they hold text, e.g. "48.0 ±1.8". */
  alignRight?: readonly string[];
}

/** Decimals worth showing for numbers up to this magnitude: 1234.5, 12.346, 0.8712. */
export function decimalsFor(maxAbs: number): number {
  if (maxAbs >= 100) return 1;
  if (maxAbs >= 1) return 3;
  return 4;
}

/** One number on its own: integers whole, others rounded by their magnitude. */
export function formatNumber(v: number, decimals?: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (decimals === undefined) {
    if (Number.isInteger(v)) return String(v);
    decimals = decimalsFor(Math.abs(v));
  }
  return v.toFixed(decimals);
}

export function formatCell(v: unknown, opts: TableOptions = {}, decimals?: number): string {
  if (v === null || v === undefined) return opts.nullText ?? 'NULL';
  if (typeof v === 'number') return formatNumber(v, decimals);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Buffer.isBuffer(v)) return `<blob ${v.length} bytes>`;
  const text = (typeof v === 'string' ? v : JSON.stringify(v)).replace(/\r?\n/g, '⏎');
  const max = opts.maxWidth ?? 80;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const isNumeric = (v: unknown) => typeof v === 'number' || typeof v === 'bigint';

/** Decimals a number is written with in its shortest form (56.7 -> 1), up to 20. */
function ownDecimals(v: number): number {
  const text = String(v);
  if (/e/.test(text)) return 20;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * Decimals for a column of numbers, or undefined when they are all whole: by magnitude, but no
 * more than its values carry (a query that rounded to 56.7 prints 56.7, not 56.700).
 */
function columnDecimals(values: unknown[]): number | undefined {
  const nums = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (nums.every(Number.isInteger)) return undefined;
  return Math.min(decimalsFor(Math.max(...nums.map(Math.abs))), Math.max(...nums.map(ownDecimals)));
}

export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[], opts: TableOptions = {}): string {
  const decimals = columns.map((_, i) => columnDecimals(rows.map((r) => r[i])));
  const cells = rows.map((r) => columns.map((_, i) => formatCell(r[i], opts, decimals[i])));
  // A column is right-aligned when every non-null value in it is a number.
  const right = columns.map(
    (c, i) => (opts.alignRight ?? []).includes(c) || (rows.some((r) => isNumeric(r[i])) && rows.every((r) => r[i] === null || isNumeric(r[i]))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const pad = (text: string, i: number) => (right[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (r: string[]) => r.map(pad).join('  ').trimEnd();
  const out = [line([...columns]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  if (opts.rowCount ?? false) out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}
