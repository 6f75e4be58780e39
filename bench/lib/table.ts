import { formatTable } from '../../common/format-table.js';

// The bench's text output: one aligned table (common/format-table.ts) per section heading.

export interface Row {
  section: string;
  measure: string;
  /** Already formatted, so each row keeps the precision its figure deserves. */
  value: string;
  unit: string;
  note: string;
}

export function formatRows(rows: readonly Row[]): string {
  const sections = [...new Set(rows.map((r) => r.section))];
  return sections
    .map((section) => {
      const own = rows.filter((r) => r.section === section).map((r) => [r.measure, r.value, r.unit, r.note]);
      return `${section}\n${formatTable(['measure', 'value', 'unit', 'note'], own, { maxWidth: 120 })}`;
    })
    .join('\n');
}

/** A number with a fixed count of decimals; '-' for missing. */
export function fixed(v: number | null | undefined, decimals: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(decimals);
}
