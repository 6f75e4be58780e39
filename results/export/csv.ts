import type { Exporter } from './exporter.js';
import { toCsv } from './csv-text.js';
import { validityOf } from '../sweep-tally.js';

// One row per point: the `results` view's columns, the other measures, then any extra matrix
// axes of the experiment as their own columns. Beside status: validity (ok | suspect | failed,
// as the view's column), beside throughput its 95 % interval (low, high, and what it was
// computed over: repeats or batch-means, with how many samples), and the suspect reasons.

const COMMON_AXES = new Set(['batch_size', 'instances', 'cores_per_instance', 'binding', 'profile', 'engine', 'smt']);

export const csvExporter: Exporter = {
  format: 'csv',
  extension: '.csv',
  render(store, sweep) {
    const host = store.getHost(sweep.host_id);
    const points = store.pointsOf(sweep.id);
    const extra = [...new Set(points.flatMap((p) => Object.keys(p.params)).filter((k) => !COMMON_AXES.has(k)))];
    const columns = ['sweep_id', 'sweep_name', 'tag', 'host', 'point_key', 'status', 'validity', 'batch_size', 'instances',
      'cores_per_instance', 'binding', 'profile', 'engine', 'smt', 'throughput_ips', 'throughput_ci_low', 'throughput_ci_high',
      'throughput_ci_method', 'throughput_ci_samples', 'latency_mean_ms', 'latency_p50_ms',
      'latency_p90_ms', 'latency_p99_ms', 'latency_max_ms', 'dice', 'soft_dice', 'throughput_repeats', 'suspect', 'suspect_reasons', 'warnings', 'error',
      'started_at', 'ended_at', ...extra];
    const rows = points.map((p) => [
      sweep.id, sweep.name, sweep.tag, host.hostname, p.key, p.status, validityOf(p),
      p.params.batch_size, p.params.instances, p.params.cores_per_instance, p.params.binding, p.params.profile,
      p.params.engine, p.params.smt ? 1 : 0,
      p.throughput_ips, p.throughput_ci?.low, p.throughput_ci?.high, p.throughput_ci?.method, p.throughput_ci?.samples,
      p.latency_ms?.mean, p.latency_ms?.p50, p.latency_ms?.p90, p.latency_ms?.p99, p.latency_ms?.max,
      p.dice, p.soft_dice,
      p.throughput_repeats.join(' '), p.suspect_reasons.length > 0 ? 1 : 0, p.suspect_reasons.join('; '), p.warnings.join('; '), p.error,
      p.started_at, p.ended_at,
      ...extra.map((k) => p.params[k]),
    ]);
    return toCsv(columns, rows);
  },
};
