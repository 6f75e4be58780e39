import type { ParamValue, ReportPoint } from './types.js';

// Names for configurations. A sweep's points share most parameters, so a label shows only
// the parameters that vary among the points it is compared with, in a fixed order.

/** The plan's own axes first, in the order an engineer reads them; extra axes follow by name. */
export const PARAM_ORDER = ['batch_size', 'instances', 'cores_per_instance', 'binding', 'profile', 'engine', 'smt'];

export function paramNames(points: ReportPoint[]): string[] {
  const names = new Set(points.flatMap((p) => Object.keys(p.params)));
  const known = PARAM_ORDER.filter((k) => names.has(k));
  const extra = [...names].filter((k) => !PARAM_ORDER.includes(k)).sort();
  return [...known, ...extra];
}

function valueKey(v: ParamValue | undefined): string {
  return v === undefined ? '\u0000' : `${typeof v}:${String(v)}`;
}

/** Parameters that take more than one value among `points` (a missing value counts as one). */
export function varyingParams(points: ReportPoint[], exclude: string[] = []): string[] {
  return paramNames(points).filter((k) => !exclude.includes(k) && new Set(points.map((p) => valueKey(p.params[k]))).size > 1);
}

/**
 * The varying parameters worth naming in a label: cores per instance is left out where the
 * instance count already determines it (a fixed core budget split among instances).
 */
export function labelParams(points: ReportPoint[], exclude: string[] = []): string[] {
  const names = varyingParams(points, exclude);
  if (!names.includes('cores_per_instance')) return names;
  const cpiOf = new Map<string, string>();
  for (const p of points) {
    const inst = valueKey(p.params['instances']);
    const cpi = valueKey(p.params['cores_per_instance']);
    if ((cpiOf.get(inst) ?? cpi) !== cpi) return names;
    cpiOf.set(inst, cpi);
  }
  return names.includes('instances') || exclude.includes('instances') ? names.filter((k) => k !== 'cores_per_instance') : names;
}

export function formatParam(name: string, v: ParamValue | undefined): string {
  if (v === undefined) return `${name} unset`;
  switch (name) {
    case 'batch_size':
      return `bs ${v}`;
    case 'instances':
      return `${v} inst`;
    case 'cores_per_instance':
      return `${v} cores/inst`;
    case 'binding':
      return v === 'none' ? 'unbound' : String(v);
    case 'smt':
      return v === true ? 'SMT' : v === false ? 'no SMT' : `smt=${v}`;
    case 'profile':
    case 'engine':
      return String(v);
    default:
      return `${name}=${v}`;
  }
}

export function configLabel(params: Record<string, ParamValue>, names: string[], fallback = 'all points'): string {
  return names.length === 0 ? fallback : names.map((k) => formatParam(k, params[k])).join(' · ');
}

/** A key of the params other than `exclude`, for grouping points that differ only there. */
export function groupKey(params: Record<string, ParamValue>, names: string[], exclude: string[]): string {
  return names
    .filter((k) => !exclude.includes(k))
    .map((k) => `${k}=${valueKey(params[k])}`)
    .join('\u0001');
}

/** Sort order of param values: numbers numerically, then the rest as text. */
export function compareValues(a: ParamValue | undefined, b: ParamValue | undefined): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
