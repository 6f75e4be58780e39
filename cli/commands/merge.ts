import type { Command } from '../command.js';
import { flag, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { mergeFrom, openMergeSource, sameFile, type MergeResult, type MergeSource } from '../../results/store/merge.js';
import { openStore } from '../../results/store/store.js';

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge the sweeps of other results databases (one per host) into one database',
  usage: `usage: sweep merge <db>... --into <db> [--json]

Copies every ended sweep of each source database into the target, with its host, points,
instances, tags and every other table a sweep carries. A sweep is matched by its globally unique
id (sweeps.uid), so merging the same file twice adds nothing the second time; a host is matched
by its fingerprint. A sweep the target holds in an earlier state (merged while interrupted,
resumed since) is replaced by the source's; one the target holds in a later state (an old copy
of the file merged after the newer one) is kept as the target has it. A sweep still running in its source is left out,
named, to be merged once it ends.

Every source is checked before anything is written: a file that is not a numa-sweep results
database (another program's SQLite file, not SQLite at all) or one from a newer numa-sweep is
refused with exit 2, and the target is not created or changed. Sources are opened read-only; an
older one is read through an upgraded copy in memory and never changed. Each source is merged
in its own transaction: all of its sweeps or none. The target is created when missing.

exit codes:
  0  merged (or nothing new to merge)
  2  bad input: a missing, foreign or newer source, no --into, a source that is the target

options:
  --into PATH    the database to merge into (created when missing)
  --json         per source: sweepsAdded, sweepsPresent, sweepsReplaced, sweepsNewerInTarget,
                 sweepsRunning, hostsAdded, rows (rows copied per table), as a JSON array`,
  async run(argv) {
    const p = parse('merge', argv, { into: { type: 'string' }, json: { type: 'boolean' } });
    const into = str(p, 'into');
    if (into === undefined) throw new UserError('missing --into <db>, the database to merge into', { hint: "see 'sweep merge --help'" });
    if (p.positionals.length === 0) throw new UserError('missing the database(s) to merge', { hint: "see 'sweep merge --help'" });
    for (const path of p.positionals) {
      if (sameFile(path, into)) throw new UserError('a database cannot be merged into itself', { location: { file: path }, hint: 'name another file with --into' });
    }
    // Every source is opened (and so checked) before the target is touched.
    const sources: MergeSource[] = [];
    try {
      for (const path of p.positionals) sources.push(openMergeSource(path));
      const target = openStore(into);
      const results: MergeResult[] = [];
      try {
        for (const source of sources) {
          const result = mergeFrom(target, source);
          results.push(result);
          if (!flag(p, 'json')) process.stdout.write(describeMerge(result));
        }
      } finally {
        target.close();
      }
      if (flag(p, 'json')) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      return 0;
    } finally {
      for (const s of sources) s.db.close();
    }
  },
};

/** One line per source, and one per sweep left out because it still runs. */
export function describeMerge(r: MergeResult): string {
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  // Rows copied under the sweeps (points, instances, tags ...), smallest count first.
  const copied = Object.entries(r.rows)
    .filter(([table, n]) => table !== 'sweeps' && table !== 'hosts' && n > 0)
    .sort((a, b) => a[1] - b[1])
    .map(([table, n]) => `${n} ${table}`)
    .join(', ');
  const parts = [`added ${plural(r.sweepsAdded, 'sweep')}${copied ? ` (${copied})` : ''}`, `skipped ${r.sweepsPresent} already present`];
  if (r.sweepsReplaced) parts.push(`replaced ${r.sweepsReplaced} with a later state`);
  if (r.sweepsNewerInTarget) parts.push(`kept ${r.sweepsNewerInTarget} the target holds in a later state (this file is older)`);
  if (r.hostsAdded) parts.push(`${plural(r.hostsAdded, 'new host')}`);
  const nothingNew = r.sweepsAdded === 0 && r.sweepsReplaced === 0 ? ': nothing new' : '';
  const lines = [`${r.source}: ${parts.join(', ')}${nothingNew}`];
  for (const s of r.sweepsRunning) lines.push(`${r.source}: left out sweep ${s.name} (${s.uid}): still running; merge again once it ends`);
  return lines.join('\n') + '\n';
}
