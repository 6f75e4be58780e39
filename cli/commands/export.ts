import type { Command } from '../command.js';
import { needPositional, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { exporters, exportSweep, writeSweepExport } from '../../results/export/exporter.js';
import { openStore } from '../../results/store/store.js';
import { DEFAULT_DB } from './run.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export one sweep as CSV (points), JSON (points, instances, latency samples) or OpenMetrics (for Prometheus / node_exporter)',
  usage: `usage: sweep export <sweep> --format ${Object.keys(exporters).join('|')} [--out FILE] [--baseline REF] [--db PATH]

The sweep is an id, a tag given with \`sweep promote\` (its newest promotion), or an experiment
name or run tag (the latest such sweep). Without --out the export goes
to stdout; with it the file is written whole (a temporary file beside it, then renamed), as
node_exporter's textfile collector needs: --out /var/lib/node_exporter/textfile/numa-sweep.prom.

openmetrics: per point throughput, its 95 % interval, latency quantiles, Dice, suspect, and the
verdict against a baseline (sweep compare's rule); the sweep's verdict and end time
(docs/nightly.md has an alert rule). --baseline REF: a sweep id or tag, default latest (the
newest other completed sweep of the experiment on the host).`,
  async run(argv) {
    const p = parse('export', argv, { db: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, baseline: { type: 'string' } });
    const ref = needPositional(p, 0, 'sweep (id, name or tag)', 'export');
    const format = str(p, 'format');
    if (!format) throw new UserError('--format is required', { hint: `one of: ${Object.keys(exporters).join(', ')}` });
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    try {
      const out = str(p, 'out');
      const options = { baseline: str(p, 'baseline') };
      if (out) process.stdout.write(`wrote ${writeSweepExport(store, ref, format, out, options)}\n`);
      else process.stdout.write(exportSweep(store, ref, format, options));
      return 0;
    } finally {
      store.close();
    }
  },
};
