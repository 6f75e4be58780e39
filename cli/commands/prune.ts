import type { Command } from '../command.js';
import { flag, int, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { formatTable } from '../../common/format-table.js';
import { openExistingStore, pruneSweeps } from '../../results/baselines.js';
import { thinSweeps } from '../../results/thin.js';
import { DEFAULT_DB } from './run.js';

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'delete sweeps older than N days, or thin them to their points (never a promoted baseline, never a running sweep)',
  usage: `usage: sweep prune --keep-days N [--dry-run] [--db PATH]
       sweep prune --thin-days N [--dry-run] [--db PATH]

--keep-days: deletes the sweeps started more than N days ago, with their points and instances,
in one transaction. --thin-days: keeps those sweeps and their points (throughput and its
interval, latency p50/p90/p99, Dice, suspect reasons), and deletes their instance rows (each
runner's result, per-batch latency samples and batch ends), most of a night's bytes; the newest
N days keep everything. Both together: thinned first, then deleted. A sweep carrying a tag from
\`sweep promote\` is kept whole, and so is a sweep still running. Lists what it deletes (or,
with --dry-run, what it would).

options:
  --keep-days N   keep the sweeps of the last N days (a whole number)
  --thin-days N   keep every instance of the sweeps of the last N days, thin the older ones
  --dry-run       list, delete nothing
  --db PATH       database (default ${DEFAULT_DB})
exit codes: 0 done, 2 bad input`,
  async run(argv) {
    const p = parse('prune', argv, { 'keep-days': { type: 'string' }, 'thin-days': { type: 'string' }, 'dry-run': { type: 'boolean' }, db: { type: 'string' } });
    const keepDays = int(p, 'keep-days', 0);
    const thinDays = int(p, 'thin-days', 0);
    if (keepDays === undefined && thinDays === undefined) throw new UserError('missing --keep-days or --thin-days', { hint: "see 'sweep prune --help'" });
    const dryRun = flag(p, 'dry-run');
    const store = openExistingStore(str(p, 'db') ?? DEFAULT_DB, dryRun);
    try {
      if (thinDays !== undefined) {
        const t = thinSweeps(store, thinDays, dryRun);
        process.stdout.write(
          `${dryRun ? 'would thin' : 'thinned'} ${t.sweeps.length} sweep(s) started before ${t.cutoff} to their points` +
            `, ${t.sweeps.reduce((n, s) => n + s.instances, 0)} instance row(s) ${dryRun ? 'to delete' : 'deleted'}\n`,
        );
        if (keepDays === undefined) return 0;
      }
      const r = pruneSweeps(store, keepDays!, dryRun);
      if (r.sweeps.length > 0) {
        process.stdout.write(formatTable(['sweep', 'name', 'status', 'started_at', 'points'], r.sweeps.map((s) => [s.id, s.name, s.status, s.started_at, s.points])));
      }
      process.stdout.write(
        `${dryRun ? 'would delete' : 'deleted'} ${r.sweeps.length} sweep(s) started before ${r.cutoff}` +
          `, ${r.sweeps.reduce((n, s) => n + s.points, 0)} point(s); kept ${r.keptTagged} promoted sweep(s) of that age\n`,
      );
      return 0;
    } finally {
      store.close();
    }
  },
};
