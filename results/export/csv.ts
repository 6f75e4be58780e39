import type { Exporter } from './exporter.js';
import { toCsv } from './csv-text.js';

// One row per point: the `results` view's columns, the other measures, then any extra matrix
// axes of the experiment as their own columns.

const COMMON_AXES = new Set(['batch_size', 'instances', 'cores_per_instance', 'binding', 'profile', 'engine', 'smt']);

export const csvExporter: Exporter = {
  format: 'csv',
  extension: '.csv',
  render(store, sweep) {
    const host = store.getHost(sweep.host_id);
    const points = store.pointsOf(sweep.id);
    const extra = [...new Set(points.flatMap((p) => Object.keys(p.params)).filter((k) => !COMMON_AXES.has(k)))];
    const columns = ['sweep_id', 'sweep_name', 'tag', 'host', 'point_key', 'status', 'batch_size', 'instances',
      'cores_per_instance', 'binding', 'profile', 'engine', 'smt', 'throughput_ips', 'latency_mean_ms', 'latency_p50_ms',
      'latency_p90_ms', 'latency_p99_ms', 'latency_max_ms', 'dice', 'soft_dice', 'throughput_repeats', 'warnings', 'error',
      'started_at', 'ended_at', ...extra];
    const rows = points.map((p) => [
      sweep.id, sweep.name, sweep.tag, host.hostname, p.key, p.status,
      p.params.batch_size, p.params.instances, p.params.cores_per_instance, p.params.binding, p.params.profile,
      p.params.engine, p.params.smt ? 1 : 0,
      p.throughput_ips, p.latency_ms?.mean, p.latency_ms?.p50, p.latency_ms?.p90, p.latency_ms?.p99, p.latency_ms?.max,
      p.dice, p.soft_dice,
      p.throughput_repeats.join(' '), p.warnings.join('; '), p.error,
      p.started_at, p.ended_at,
      ...extra.map((k) => p.params[k]),
    ]);
    return toCsv(columns, rows);
  },
};
