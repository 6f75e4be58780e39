import { compareSweeps, type Comparison } from '../compare.js';
import { resolveBaseline } from '../baselines.js';
import type { Store, SweepRecord } from '../store/store.js';
import type { Exporter, ExportOptions } from './exporter.js';

// A sweep as metrics in the text exposition format that Prometheus scrapes and node_exporter's
// textfile collector reads (*.prom), with OpenMetrics' `# UNIT` lines and `# EOF` terminator
// (both comments to the Prometheus parser). Conventions followed: one `numa_sweep_` prefix,
// base units in names (seconds, images per second, ratio), gauges only (no counters, so no
// `_total`), a `summary` for latency quantiles, no timestamps (the textfile collector refuses
// them). Labels: the host, the experiment, and the point's declared axes; nothing with one value
// per sweep or per night (sweep ids are values, not labels), so series stay the same night to
// night and an alert can follow them.
//
// The verdict is `sweep compare BASELINE SWEEP` with its defaults (results/compare.ts), the
// baseline resolved as `sweep qualify` resolves one (results/baselines.ts): `latest` (the newest
// other completed sweep of the experiment on the host) unless --baseline names one. Each
// verdict is a set of series, one per state, the current one 1 and the others 0.

const PREFIX = 'numa_sweep_';
const POINT_VERDICTS = ['pass', 'fail', 'inconclusive', 'no_baseline'] as const;
const SWEEP_VERDICTS = ['pass', 'regression', 'inconclusive', 'no_baseline'] as const;

type Labels = Record<string, string>;

/** A label value escaped as the exposition format wants: backslash, double quote, newline. */
function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** An axis name as a label name: [a-zA-Z_][a-zA-Z0-9_]*. */
function labelName(axis: string): string {
  const n = axis.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(n) ? n : `_${n}`;
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A number as the format writes it (Go's ParseFloat reads it back). */
function value(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return String(n);
}

class Family {
  readonly lines: string[] = [];
  constructor(
    readonly name: string,
    readonly type: 'gauge' | 'summary',
    readonly help: string,
    readonly unit?: string,
  ) {}
  add(labels: Labels, v: number | null | undefined, suffix = ''): void {
    if (v === null || v === undefined) return;
    this.lines.push(`${this.name}${suffix}${labelText(labels)} ${value(v)}`);
  }
  text(): string[] {
    if (this.lines.length === 0) return [];
    const head = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    if (this.unit) head.push(`# UNIT ${this.name} ${this.unit}`);
    return [...head, ...this.lines];
  }
}

function pointVerdict(c: Comparison | null, key: string): (typeof POINT_VERDICTS)[number] {
  if (c === null) return 'no_baseline';
  const p = c.points.find((x) => x.key === key);
  // A point the baseline does not have is new: nothing to judge it against.
  if (!p) return 'no_baseline';
  if (p.failures.length > 0) return 'fail';
  if (p.inconclusive.length > 0) return 'inconclusive';
  return 'pass';
}

function comparison(store: Store, sweep: SweepRecord, options: ExportOptions): { c: Comparison | null; baselineId: number | null } {
  const host = store.getHost(sweep.host_id);
  const found = resolveBaseline(store, options.baseline ?? 'latest', {
    experiment: sweep.name,
    hostname: host.hostname,
    cpuModel: host.cpu_model,
    excludeSweepId: sweep.id,
  });
  if (found === null) return { c: null, baselineId: null };
  return { c: compareSweeps(store, found.sweep.id, sweep.id), baselineId: found.sweep.id };
}

export function renderOpenMetrics(store: Store, sweep: SweepRecord, options: ExportOptions = {}): string {
  const host = store.getHost(sweep.host_id);
  const base: Labels = { host: host.hostname, experiment: sweep.name };
  const { c, baselineId } = comparison(store, sweep, options);

  const ok = new Family(`${PREFIX}point_ok`, 'gauge', 'Whether the point ran and was measured (1) or failed (0).');
  const throughput = new Family(`${PREFIX}throughput_images_per_second`, 'gauge', 'Point throughput: images per second over all its instances (median over repeats).', 'images_per_second');
  const low = new Family(`${PREFIX}throughput_ci95_low_images_per_second`, 'gauge', 'Lower end of the 95 % interval of the point throughput.', 'images_per_second');
  const high = new Family(`${PREFIX}throughput_ci95_high_images_per_second`, 'gauge', 'Upper end of the 95 % interval of the point throughput.', 'images_per_second');
  const latency = new Family(`${PREFIX}batch_latency_seconds`, 'summary', 'Per-batch latency of the point; _count and _sum over every timed batch of every instance and repeat.', 'seconds');
  const dice = new Family(`${PREFIX}dice_ratio`, 'gauge', 'Hard Dice coefficient of the predicted masks against the ground truth (0 to 1).', 'ratio');
  const suspect = new Family(`${PREFIX}point_suspect`, 'gauge', 'Whether the point is suspect (foreign load, throttling, oversubscription ...): 1, else 0.');
  const ratio = new Family(`${PREFIX}throughput_baseline_ratio`, 'gauge', 'Point throughput over the baseline sweep\'s.', 'ratio');
  const verdict = new Family(`${PREFIX}point_verdict`, 'gauge', 'The point\'s verdict against the baseline (sweep compare): 1 for the current state, 0 for the others.');

  for (const p of store.pointsOf(sweep.id)) {
    const labels: Labels = { ...base };
    for (const [axis, v] of Object.entries(p.declared ?? {})) labels[labelName(axis)] = String(v);
    ok.add(labels, p.status === 'ok' ? 1 : 0);
    throughput.add(labels, p.throughput_ips);
    low.add(labels, p.throughput_ci?.low);
    high.add(labels, p.throughput_ci?.high);
    if (p.latency_ms) {
      latency.add({ ...labels, quantile: '0.5' }, p.latency_ms.p50 / 1000);
      latency.add({ ...labels, quantile: '0.9' }, p.latency_ms.p90 / 1000);
      latency.add({ ...labels, quantile: '0.99' }, p.latency_ms.p99 / 1000);
      let count = 0;
      let sumMs = 0;
      for (const i of store.instancesOf(p.id)) {
        if (!i.result) continue;
        count += i.result.batches;
        sumMs += i.result.latency_ms.mean * i.result.batches;
      }
      if (count > 0) {
        latency.add(labels, sumMs / 1000, '_sum');
        latency.add(labels, count, '_count');
      }
    }
    dice.add(labels, p.dice);
    suspect.add(labels, p.suspect_reasons.length > 0 ? 1 : 0);
    ratio.add(labels, c?.points.find((x) => x.key === p.key)?.throughput.ratio ?? null);
    const state = pointVerdict(c, p.key);
    for (const s of POINT_VERDICTS) verdict.add({ ...labels, verdict: s }, s === state ? 1 : 0);
  }

  const sweepVerdict = new Family(`${PREFIX}verdict`, 'gauge', 'The sweep\'s verdict against the baseline (sweep compare): 1 for the current state, 0 for the others.');
  const state = c === null ? 'no_baseline' : c.verdict;
  for (const s of SWEEP_VERDICTS) sweepVerdict.add({ ...base, verdict: s }, s === state ? 1 : 0);
  const baseline = new Family(`${PREFIX}baseline_sweep_id`, 'gauge', 'Id of the sweep the verdict was judged against (absent without one).');
  baseline.add(base, baselineId);
  const sweepId = new Family(`${PREFIX}sweep_id`, 'gauge', 'Id of the sweep these metrics are of, in its database.');
  sweepId.add(base, sweep.id);
  const end = new Family(`${PREFIX}end_timestamp_seconds`, 'gauge', 'When the sweep ended, in seconds since the Unix epoch (absent while it runs).', 'seconds');
  end.add(base, sweep.ended_at === null ? null : Date.parse(sweep.ended_at) / 1000);
  const started = new Family(`${PREFIX}start_timestamp_seconds`, 'gauge', 'When the sweep started, in seconds since the Unix epoch.', 'seconds');
  started.add(base, Date.parse(sweep.started_at) / 1000);

  const families = [ok, throughput, low, high, latency, dice, suspect, ratio, verdict, sweepVerdict, baseline, sweepId, started, end];
  return [...families.flatMap((f) => f.text()), '# EOF', ''].join('\n');
}

export const openMetricsExporter: Exporter = {
  format: 'openmetrics',
  extension: '.prom',
  render: renderOpenMetrics,
};
