import { groupKey, paramNames } from './labels.js';
import type { ReportPoint } from './types.js';

// Which points a comparison pairs: points that differ only in one axis (and, for binding, the
// cores that axis gives each instance). The chart (figures.ts) and the findings (findings.ts)
// read the same pairs, so the page never compares one set in a chart and another in words.

export type Measured = ReportPoint & { throughput_ips: number };

export function measured(points: ReportPoint[]): Measured[] {
  return points.filter((p): p is Measured => p.status === 'ok' && p.throughput_ips !== null && Number.isFinite(p.throughput_ips));
}

export const isSuspect = (p: ReportPoint): boolean => p.suspect_reasons.length > 0;

export const NONE_MEASURED = 'No point finished with a throughput, so there is nothing to chart (see the table for the errors).';

export interface AxisPairs {
  /** The axis value every other is compared against. */
  base: string;
  others: string[];
  /** One map per configuration: axis value -> its point; each holds `base` and at least one other. */
  pairs: Map<string, Measured>[];
}

/**
 * Points that differ only in `axis`, grouped by every other parameter. With `sizedByAxis` the
 * cores per instance may differ too, because the axis decides them (an unbound instance has the
 * machine, a bound one its node: the way experiments/xeon-8380.yaml is written); where several
 * points share an axis value, the one with the most cores stands for it. A string says why
 * there is no pair.
 */
export function axisPairs(ok: Measured[], axis: string, baseline: string, noun: string, sizedByAxis = false): AxisPairs | string {
  if (ok.length === 0) return NONE_MEASURED;
  const free = sizedByAxis ? [axis, 'cores_per_instance'] : [axis];
  const values = [...new Set(ok.flatMap((p) => (p.params[axis] === undefined ? [] : [String(p.params[axis])])))].sort();
  if (values.length === 0) return `No point records its ${noun}.`;
  if (values.length < 2) return `Only one ${noun} (${values[0]}) was measured, so there is nothing to compare.`;
  const base = values.includes(baseline) ? baseline : values[0]!;
  const others = values.filter((v) => v !== base);
  const all = paramNames(ok);
  const groups = new Map<string, Map<string, Measured>>();
  const cores = (p: Measured | undefined): number => (p === undefined ? -1 : Number(p.params['cores_per_instance']) || 0);
  for (const p of ok) {
    if (p.params[axis] === undefined) continue;
    const k = groupKey(p.params, all, free);
    const g = groups.get(k) ?? new Map<string, Measured>();
    const value = String(p.params[axis]);
    if (cores(p) > cores(g.get(value))) g.set(value, p);
    groups.set(k, g);
  }
  const pairs = [...groups.values()].filter((g) => g.has(base) && others.some((o) => g.has(o)));
  if (pairs.length === 0) {
    const rest = sizedByAxis ? 'every other parameter but cores per instance' : 'every other parameter';
    return `No configuration was measured with both ${noun} ${values.map((v) => `"${v}"`).join(' and ')} and ${rest} equal.`;
  }
  return { base, others, pairs };
}

/** Configurations measured at more than one instance count, other parameters (cores per instance aside) equal. */
export function scalingGroups(ok: Measured[]): Measured[][] | string {
  if (ok.length === 0) return NONE_MEASURED;
  const counts = [...new Set(ok.map((p) => p.params['instances']).filter((v) => v !== undefined))];
  if (counts.length === 0) return 'No point records its instance count.';
  if (counts.length < 2) return `Every point ran with ${String(counts[0] ?? 'the same number of')} instance(s), so there is no scaling to show.`;
  const all = paramNames(ok);
  const groups = new Map<string, Measured[]>();
  for (const p of ok) {
    const k = groupKey(p.params, all, ['instances', 'cores_per_instance']);
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const scaled = [...groups.values()].filter((g) => new Set(g.map((p) => p.params['instances'])).size > 1);
  if (scaled.length === 0) return 'No configuration was measured at more than one instance count with its other parameters equal.';
  return scaled;
}

/** Cores a point used: instances x cores per instance (cores per instance 1 when not recorded). */
export function coresUsed(p: Measured): number {
  const perInstance = Number(p.params['cores_per_instance']);
  return Number(p.params['instances']) * (Number.isFinite(perInstance) && perInstance > 0 ? perInstance : 1);
}

/** Where several points of a scaling group share an instance count, the best one stands for it; by instance count. */
export function bestPerInstanceCount(g: Measured[]): [number, Measured][] {
  const best = new Map<number, Measured>();
  for (const p of g) {
    const x = Number(p.params['instances']);
    if (!best.has(x) || best.get(x)!.throughput_ips < p.throughput_ips) best.set(x, p);
  }
  return [...best.entries()].sort((a, b) => a[0] - b[0]);
}
