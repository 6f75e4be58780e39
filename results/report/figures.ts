import { fixed, readable } from './format.js';
import { compareValues, configLabel, labelParams } from './labels.js';
import { barChart, groupedBarChart, lineChart, type LineSeries } from './svg-charts.js';
import type { ReportPoint } from './types.js';
import { axisModels } from './models.js';
import { axisPairs, bestPerInstanceCount, coresUsed, isSuspect, measured, NONE_MEASURED, scalingGroups, type Measured } from './pairs.js';
import { ratioWithInterval } from '../../common/figure-format.js';
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

function byThroughput(a: Measured, b: Measured): number {
  return b.throughput_ips - a.throughput_ips || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

const interval = (p: Measured | null | undefined) => (p?.throughput_ci ? { low: p.throughput_ci.low, high: p.throughput_ci.high } : null);

const MARKS = 'Error bars: the 95% confidence interval. Pale bars with a dashed outline: suspect points (their window saw other load), not measurements of their configuration alone.';

function throughputFigure(ok: Measured[]): Figure {
  const fig: Figure = {
    id: 'throughput',
    heading: 'Throughput per configuration',
    caption: `Images per second of each point, all its instances together (median over repeats), best first. ${MARKS} Failed points are only in the table.`,
    svgs: [],
    absent: null,
  };
  if (ok.length === 0) return { ...fig, absent: NONE_MEASURED };
  const names = labelParams(ok);
  const bars = [...ok]
    .sort(byThroughput)
    .map((p) => ({ label: configLabel(p.params, names), value: p.throughput_ips, note: p.key, interval: interval(p), suspect: isSuspect(p) }));
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
      `scaling-efficiency query does: flat where the same cores are split among more instances. Error bars: the 95% confidence interval; hollow dashed markers: suspect points.`,
    svgs: [],
    absent: null,
  };
  const scaled = scalingGroups(ok);
  if (typeof scaled === 'string') return { ...fig, absent: scaled };
  const free = ['instances', 'cores_per_instance'];
  // Named by what sets them apart in the whole sweep, so a lone series still says which it is.
  const names = labelParams(ok, free);
  const series: LineSeries[] = [];
  scaled
    .map((g) => ({ g, label: configLabel(g[0]!.params, names, 'all points') }))
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
    .forEach(({ g, label }, colorIndex) => {
      // Where several points share an instance count (different cores per instance), the best one stands for it.
      const pts = bestPerInstanceCount(g);
      const [x0, p0] = pts[0]!;
      // Ideal: the fewest-instance point's throughput per core, times the cores each point used.
      const ideal = (p: Measured): number => (p0.throughput_ips * coresUsed(p)) / coresUsed(p0);
      const efficiency = (p: Measured): string => `${fixed((100 * p.throughput_ips) / ideal(p), 0)}% of linear in cores; ${p.key}`;
      series.push({
        name: label,
        colorIndex,
        points: pts.map(([x, p]) => ({ x, y: p.throughput_ips, note: efficiency(p), interval: interval(p), suspect: isSuspect(p) })),
      });
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
  const fig: Figure = {
    id,
    heading,
    caption:
      `Throughput of points that differ only in ${noun}${sizedByAxis ? ' (and the cores it gives each instance: the machine unbound, one node bound)' : ''}, ` +
      `paired by every other parameter; after each other bar, its ratio to ${noun} "${baseline}" with its interval (the two relative half-widths added). ` +
      `A pair with a suspect point gets no ratio. ${MARKS}`,
    svgs: [],
    absent: null,
  };
  const found = axisPairs(ok, axis, baseline, noun, sizedByAxis);
  if (typeof found === 'string') return { ...fig, absent: found };
  const { base, others, pairs } = found;
  const free = sizedByAxis ? [axis, 'cores_per_instance'] : [axis];
  const names = labelParams(ok, free);
  const rows = pairs
    .map((g) => {
      const b = g.get(base)!;
      const label = configLabel(b.params, names);
      const sized = (p: Measured) => (sizedByAxis ? ` ${String(p.params['cores_per_instance'])} cores/inst` : '');
      // The ratio to the base, written after each other value's bar; a suspect side measured
      // something besides its configuration, so its pair gets no ratio to quote.
      const ratio = (p: Measured | null): string | null => {
        if (p === null) return null;
        if (p === b) return isSuspect(b) ? 'suspect' : null;
        if (isSuspect(p) || isSuspect(b)) return `${isSuspect(p) ? 'suspect' : `vs suspect ${base}`}: no ratio`;
        return `${ratioWithInterval(b.throughput_ips, interval(b), p.throughput_ips, interval(p))}${sized(p)}`;
      };
      const sides = [b, ...others.map((o) => g.get(o) ?? null)];
      return {
        label,
        values: sides.map((p) => (p ? p.throughput_ips : null)),
        intervals: sides.map(interval),
        suspect: sides.map((p) => (p ? isSuspect(p) : false)),
        valueNotes: sides.map(ratio),
        note: `vs ${base}${sized(b)} ${readable(b.throughput_ips)} images/s`,
      };
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
    pairedFigure(ok, 'profile', 'default', 'profile', 'Optimized against default profile', 'profile'),
    pairedFigure(ok, 'binding', 'none', 'binding', 'numactl against no binding', 'binding', true),
    // Only where the experiment has a model axis; the first model recorded is the baseline.
    ...(models.length > 0 ? [pairedFigure(ok, 'model', models[0]!, 'model-throughput', 'Throughput by model', 'model')] : []),
    ...[countersFigure(ok)].filter((f): f is Figure => f !== null),
  ];
}
