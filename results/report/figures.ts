import { fixed, readable } from './format.js';
import { compareValues, configLabel, groupKey, labelParams, paramNames } from './labels.js';
import { barChart, groupedBarChart, lineChart, type LineSeries } from './svg-charts.js';
import type { ReportPoint } from './types.js';
import { axisModels } from './models.js';
import type { CounterFigures } from '../counters.js';

// The report's charts, chosen from the points: which points each chart compares, how they are
// paired, and, when a chart has nothing to show, a sentence that says why.

export interface Figure {
  id: string;
  heading: string;
  caption: string;
  /** One or more charts; empty when `absent` says why there is none. */
  svgs: string[];
  absent: string | null;
}

type Measured = ReportPoint & { throughput_ips: number };

function measured(points: ReportPoint[]): Measured[] {
  return points.filter((p): p is Measured => p.status === 'ok' && p.throughput_ips !== null && Number.isFinite(p.throughput_ips));
}

function byThroughput(a: Measured, b: Measured): number {
  return b.throughput_ips - a.throughput_ips || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

const NONE_MEASURED = 'No point finished with a throughput, so there is nothing to chart (see the table for the errors).';

/** Cores a point used: instances x cores per instance (cores per instance 1 when not recorded). */
function coresUsed(p: Measured): number {
  const perInstance = Number(p.params['cores_per_instance']);
  return Number(p.params['instances']) * (Number.isFinite(perInstance) && perInstance > 0 ? perInstance : 1);
}

function throughputFigure(ok: Measured[]): Figure {
  const fig: Figure = {
    id: 'throughput',
    heading: 'Throughput per configuration',
    caption: 'Images per second of each point, all its instances together (median over repeats), best first. Failed points are only in the table.',
    svgs: [],
    absent: null,
  };
  if (ok.length === 0) return { ...fig, absent: NONE_MEASURED };
  const names = labelParams(ok);
  const bars = [...ok].sort(byThroughput).map((p) => ({ label: configLabel(p.params, names), value: p.throughput_ips, note: p.key }));
  fig.svgs.push(barChart({ title: 'Throughput per configuration', axis: 'Throughput', unit: 'images/s', bars }));
  return fig;
}

function latencyFigure(ok: Measured[]): Figure {
  const fig: Figure = {
    id: 'latency',
    heading: 'Latency percentiles per configuration',
    caption: 'Time per batch (p50, p90, p99) of each point, one chart per batch size since a batch of 128 takes far longer than a batch of 1.',
    svgs: [],
    absent: null,
  };
  const withLatency = ok.filter((p) => p.latency_ms !== null);
  if (withLatency.length === 0) return { ...fig, absent: ok.length === 0 ? NONE_MEASURED : 'No point recorded latencies.' };
  const batches = [...new Set(withLatency.map((p) => p.params['batch_size']))].sort(compareValues);
  for (const bs of batches) {
    const group = withLatency.filter((p) => p.params['batch_size'] === bs);
    const names = labelParams(group, ['batch_size']);
    const sorted = [...group].sort((a, b) => a.latency_ms!.p50 - b.latency_ms!.p50 || (a.key < b.key ? -1 : 1));
    const title = bs === undefined ? 'Latency per batch' : `Latency per batch, batch size ${String(bs)}`;
    fig.svgs.push(
      groupedBarChart({
        title,
        axis: 'Latency per batch',
        unit: 'ms',
        series: ['p50', 'p90', 'p99'],
        groups: sorted.map((p) => ({
          label: configLabel(p.params, names, batches.length > 1 ? `bs ${String(bs)}` : 'all points'),
          values: [p.latency_ms!.p50, p.latency_ms!.p90, p.latency_ms!.p99],
          note: p.key,
        })),
      }),
    );
  }
  return fig;
}

function scalingFigure(ok: Measured[]): Figure {
  const fig: Figure = {
    id: 'scaling',
    heading: 'Scaling with instances',
    caption:
      'Throughput against the number of instances, for points whose other parameters (cores per instance aside) are equal. ' +
      'The dashed line scales the fewest-instance point by the cores used (instances x cores per instance), as the ' +
      'scaling-efficiency query does: flat where the same cores are split among more instances.',
    svgs: [],
    absent: null,
  };
  if (ok.length === 0) return { ...fig, absent: NONE_MEASURED };
  const counts = [...new Set(ok.map((p) => p.params['instances']).filter((v) => v !== undefined))];
  if (counts.length === 0) return { ...fig, absent: 'No point records its instance count.' };
  if (counts.length < 2) return { ...fig, absent: `Every point ran with ${String(counts[0] ?? 'the same number of')} instance(s), so there is no scaling to show.` };
  const all = paramNames(ok);
  const free = ['instances', 'cores_per_instance'];
  const groups = new Map<string, Measured[]>();
  for (const p of ok) {
    const k = groupKey(p.params, all, free);
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const scaled = [...groups.values()].filter((g) => new Set(g.map((p) => p.params['instances'])).size > 1);
  if (scaled.length === 0) {
    return { ...fig, absent: 'No configuration was measured at more than one instance count with its other parameters equal.' };
  }
  // Named by what sets them apart in the whole sweep, so a lone series still says which it is.
  const names = labelParams(ok, free);
  const series: LineSeries[] = [];
  scaled
    .map((g) => ({ g, label: configLabel(g[0]!.params, names, 'all points') }))
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
    .forEach(({ g, label }, colorIndex) => {
      // Where several points share an instance count (different cores per instance), the best one stands for it.
      const best = new Map<number, Measured>();
      for (const p of g) {
        const x = Number(p.params['instances']);
        if (!best.has(x) || best.get(x)!.throughput_ips < p.throughput_ips) best.set(x, p);
      }
      const pts = [...best.entries()].sort((a, b) => a[0] - b[0]);
      const [x0, p0] = pts[0]!;
      // Ideal: the fewest-instance point's throughput per core, times the cores each point used.
      const ideal = (p: Measured): number => (p0.throughput_ips * coresUsed(p)) / coresUsed(p0);
      const efficiency = (p: Measured): string => `${fixed((100 * p.throughput_ips) / ideal(p), 0)}% of linear in cores; ${p.key}`;
      series.push({ name: label, colorIndex, points: pts.map(([x, p]) => ({ x, y: p.throughput_ips, note: efficiency(p) })) });
      series.push({
        name: `${label}: ideal scaling in cores from ${x0} instance(s)`,
        reference: true,
        colorIndex,
        points: pts.map(([x, p]) => ({ x, y: ideal(p) })),
      });
    });
  fig.svgs.push(
    lineChart({ title: 'Throughput against instances', xAxis: 'Instances', yAxis: 'Throughput', yUnit: 'images/s', series, referenceLegend: 'ideal (linear in cores)' }),
  );
  return fig;
}

/**
 * Points that differ only in `axis`, side by side: the baseline value against each other value.
 * With `sizedByAxis` the cores per instance may differ too, because the axis decides them: an
 * unbound instance has the machine, a bound one its node (the way experiments/xeon-8380.yaml is
 * written); where several points share an axis value, the one with the most cores stands for it.
 */
function pairedFigure(ok: Measured[], axis: string, baseline: string, id: string, heading: string, noun: string, sizedByAxis = false): Figure {
  const free = sizedByAxis ? [axis, 'cores_per_instance'] : [axis];
  const fig: Figure = {
    id,
    heading,
    caption:
      `Throughput of points that differ only in ${noun}${sizedByAxis ? ' (and the cores it gives each instance: the machine unbound, one node bound)' : ''}, ` +
      `paired by every other parameter; the label gives the ratio to ${noun} "${baseline}".`,
    svgs: [],
    absent: null,
  };
  if (ok.length === 0) return { ...fig, absent: NONE_MEASURED };
  const values = [...new Set(ok.flatMap((p) => (p.params[axis] === undefined ? [] : [String(p.params[axis])])))].sort();
  if (values.length === 0) return { ...fig, absent: `No point records its ${noun}.` };
  if (values.length < 2) return { ...fig, absent: `Only one ${noun} (${values[0]}) was measured, so there is nothing to compare.` };
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
    return { ...fig, absent: `No configuration was measured with both ${noun} ${values.map((v) => `"${v}"`).join(' and ')} and ${rest} equal.` };
  }
  const names = labelParams(ok, free);
  const rows = pairs
    .map((g) => {
      const b = g.get(base)!;
      const label = configLabel(b.params, names);
      const sized = (p: Measured) => (sizedByAxis ? ` ${String(p.params['cores_per_instance'])} cores/inst` : '');
      const gains = others.filter((o) => g.has(o)).map((o) => `${o}${sized(g.get(o)!)} ×${fixed(g.get(o)!.throughput_ips / b.throughput_ips, 2)}`);
      return { label: `${label} (${gains.join(', ')})`, values: [b, ...others.map((o) => g.get(o) ?? null)].map((p) => (p ? p.throughput_ips : null)), note: `vs ${base}${sized(b)} ${readable(b.throughput_ips)} images/s` };
    })
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  fig.svgs.push(
    groupedBarChart({ title: `Throughput: ${[base, ...others].join(' vs ')}`, axis: 'Throughput', unit: 'images/s', series: [base, ...others], groups: rows }),
  );
  return fig;
}

/** What the counters figure charts, each beside throughput, in the throughput chart's order. */
const COUNTER_CHARTS: { key: keyof CounterFigures; title: string; axis: string; unit: string; scale: number }[] = [
  { key: 'remote_share', title: 'Remote share of DRAM loads', axis: 'Remote share', unit: '%', scale: 100 },
  { key: 'ipc', title: 'Instructions per cycle', axis: 'IPC', unit: '', scale: 1 },
  { key: 'mem_bandwidth_gbs', title: 'Memory bandwidth, all sockets', axis: 'Bandwidth', unit: 'GB/s', scale: 1 },
  { key: 'migrations_per_s', title: 'CPU migrations per instance', axis: 'Migrations', unit: '/s', scale: 1 },
  { key: 'context_switches_per_s', title: 'Context switches per instance', axis: 'Context switches', unit: '/s', scale: 1 },
];

/**
 * perf counters beside throughput (docs/counters.md): one chart per figure some point counted,
 * the points in the throughput chart's order, so numactl on and off show their remote share
 * and throughput side by side. Only where the sweep counted anything.
 */
function countersFigure(ok: Measured[]): Figure | null {
  const counted = ok.filter((p) => p.counters);
  if (counted.length === 0) return null;
  const names = labelParams(ok);
  const order = [...ok].sort(byThroughput);
  const shown = COUNTER_CHARTS.filter((c) => order.some((p) => p.counters?.[c.key] != null));
  const missing = COUNTER_CHARTS.filter((c) => !shown.includes(c)).map((c) => c.axis.toLowerCase());
  const fig: Figure = {
    id: 'counters',
    heading: 'Counters beside throughput',
    caption:
      "Each point's perf counters over its instances' timed windows (sums over instances and repeats; rates per instance), in the throughput chart's order. " +
      'A point without a bar did not count that figure.' +
      (missing.length > 0 ? ` Not counted on this host: ${missing.join(', ')} (sweep topology and the instance_counters reasons say why).` : ''),
    svgs: [],
    absent: null,
  };
  fig.svgs.push(barChart({ title: 'Throughput per configuration', axis: 'Throughput', unit: 'images/s', bars: order.map((p) => ({ label: configLabel(p.params, names), value: p.throughput_ips, note: p.key })) }));
  shown.forEach((c, i) => {
    const bars = order.flatMap((p) => {
      const v = p.counters?.[c.key];
      return v === null || v === undefined ? [] : [{ label: configLabel(p.params, names), value: v * c.scale, note: p.key }];
    });
    fig.svgs.push(barChart({ title: c.title, axis: c.axis, unit: c.unit, bars, color: PALETTE_COUNTERS[i % PALETTE_COUNTERS.length] }));
  });
  return fig;
}

const PALETTE_COUNTERS = ['#d95f02', '#7570b3', '#1b9e77', '#e7298a', '#66a61e'];

export function buildFigures(points: ReportPoint[]): Figure[] {
  const ok = measured(points);
  const models = axisModels(points);
  return [
    throughputFigure(ok),
    latencyFigure(ok),
    scalingFigure(ok),
    pairedFigure(ok, 'profile', 'default', 'profile', 'Default against optimized profile', 'profile'),
    pairedFigure(ok, 'binding', 'none', 'binding', 'numactl against no binding', 'binding', true),
    // Only where the experiment has a model axis; the first model recorded is the baseline.
    ...(models.length > 0 ? [pairedFigure(ok, 'model', models[0]!, 'model-throughput', 'Throughput by model', 'model')] : []),
    ...[countersFigure(ok)].filter((f): f is Figure => f !== null),
  ];
}
