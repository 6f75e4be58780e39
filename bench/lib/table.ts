// The bench's text output: rows grouped under section headings, values right-aligned.

export interface Row {
  section: string;
  measure: string;
  /** Already formatted, so each row keeps the precision its figure deserves. */
  value: string;
  unit: string;
  note: string;
}

export function formatRows(rows: readonly Row[]): string {
  const w = {
    measure: Math.max(7, ...rows.map((r) => r.measure.length)),
    value: Math.max(5, ...rows.map((r) => r.value.length)),
    unit: Math.max(4, ...rows.map((r) => r.unit.length)),
  };
  const line = (m: string, v: string, u: string, n: string) =>
    `  ${m.padEnd(w.measure)}  ${v.padStart(w.value)}  ${u.padEnd(w.unit)}  ${n}`.trimEnd();
  const out: string[] = [];
  let section: string | undefined;
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      out.push('', section);
    }
    out.push(line(r.measure, r.value, r.unit, r.note));
  }
  return out.join('\n').replace(/^\n/, '') + '\n';
}

/** A number with a fixed count of decimals; '-' for missing. */
export function fixed(v: number | null | undefined, decimals: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(decimals);
}
