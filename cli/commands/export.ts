import type { Command } from '../command.js';
import { needPositional, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { exporters, exportSweep, writeSweepExport } from '../../results/export/exporter.js';
import { openStore } from '../../results/store/store.js';
import { DEFAULT_DB } from './run.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export one sweep as CSV (points) or JSON (points, instances, latency samples)',
  usage: `usage: sweep export <sweep> --format ${Object.keys(exporters).join('|')} [--out FILE] [--db PATH]

The sweep is an id, a tag given with \`sweep promote\` (its newest promotion), or an experiment
name or run tag (the latest such sweep). Without --out the export goes to stdout.`,
  async run(argv) {
    const p = parse('export', argv, { db: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } });
    const ref = needPositional(p, 0, 'sweep (id, name or tag)', 'export');
    const format = str(p, 'format');
    if (!format) throw new UserError('--format is required', { hint: `one of: ${Object.keys(exporters).join(', ')}` });
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    try {
      const out = str(p, 'out');
      if (out) process.stdout.write(`wrote ${writeSweepExport(store, ref, format, out)}\n`);
      else process.stdout.write(exportSweep(store, ref, format));
      return 0;
    } finally {
      store.close();
    }
  },
};
