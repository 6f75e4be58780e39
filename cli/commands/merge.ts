import type { Command } from '../command.js';
import { flag, parse, str } from '../args.js';
import { existsSync, statSync } from 'node:fs';
import { formatError, isUserError, UserError } from '../../common/errors.js';
import { mergeFrom, openMergeSource, sameFile, type MergeResult, type MergeSource } from '../../results/store/merge.js';
import { openStore } from '../../results/store/store.js';
import { listSpool, readListFile } from '../../results/store/spool.js';

/** Sources committed together (each still all or none on its own). */
const GROUP = 256;

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge the sweeps of other results databases (one per host) into one database',
  usage: `usage: sweep merge <db or spool dir>... [--from-list FILE] --into <db> [--json]

Copies every ended sweep of each source database into the target, with its host, points,
instances, tags and every other table a sweep carries. A sweep is matched by its globally unique
id (sweeps.uid), so merging the same file twice adds nothing the second time; a host is matched
by its fingerprint. A sweep the target holds in an earlier state (merged while interrupted,
resumed since) is replaced by the source's; one the target holds in a later state (an old copy
of the file merged after the newer one) is kept as the target has it. A sweep still running in its source is left out,
named, to be merged once it ends.

Sources without a shell glob (thousands of paths do not fit in one command line):
  a directory   every SQLite file under it (a Slurm spool: SPOOL/<host>-<job>/sweeps.db); one
                that is not numa-sweep's, or is from a newer numa-sweep, is named on stderr and
                skipped; other files (job output, data, models) are passed over
  --from-list F one path a line (a database or a directory; blank lines and # comments skipped;
                relative paths from F's folder); a path that does not exist is exit 2, naming F:LINE

A database named on its own (or in a list) is checked before anything is written: one that is
not a numa-sweep results database (another program's SQLite file, not SQLite at all) or is from
a newer numa-sweep is refused with exit 2, and the target is not created or changed. Sources are
opened read-only; an older one is read through an upgraded copy in memory and never changed. Each
source is merged all or none (its own savepoint), and sources are committed 256 at a time: a merge
stopped part way keeps what it committed, and merging again adds the rest. The target is created when
missing, and skipped when it lies inside a directory given.

exit codes:
  0  merged (or nothing new to merge; files a directory held that are not databases were named)
  2  bad input: a missing, foreign or newer source named on its own, no --into, a source that is the target

options:
  --into PATH       the database to merge into (created when missing)
  --from-list FILE  the sources, one a line (above)
  --json            per source: sweepsAdded, sweepsPresent, sweepsReplaced, sweepsNewerInTarget,
                    sweepsRunning, hostsAdded, rows (rows copied per table), as a JSON array`,
  async run(argv) {
    const p = parse('merge', argv, { into: { type: 'string' }, json: { type: 'boolean' }, 'from-list': { type: 'string' } });
    const into = str(p, 'into');
    if (into === undefined) throw new UserError('missing --into <db>, the database to merge into', { hint: "see 'sweep merge --help'" });
    const list = str(p, 'from-list');
    const given = [...p.positionals, ...(list === undefined ? [] : readListFile(list))];
    if (given.length === 0) throw new UserError('missing the database(s) or spool directory to merge', { hint: "see 'sweep merge --help'" });
    // Named databases are strict (refused, exit 2); the SQLite files a directory holds are lenient (named, skipped).
    const named: string[] = [];
    const found: string[] = [];
    let otherFiles = 0;
    for (const path of given) {
      if (existsSync(path) && statSync(path).isDirectory()) {
        const listing = listSpool(path);
        found.push(...listing.databases.filter((db) => !sameFile(db, into)));
        otherFiles += listing.otherFiles;
        continue;
      }
      if (sameFile(path, into)) throw new UserError('a database cannot be merged into itself', { location: { file: path }, hint: 'name another file with --into' });
      named.push(path);
    }
    // Every named source is opened (and so checked) before the target is touched, then closed:
    // thousands of them are not held open at once.
    for (const path of named) openMergeSource(path).db.close();
    const json = flag(p, 'json');
    const results: MergeResult[] = [];
    const skipped: string[] = [];
    const target = openStore(into);
    // Sources are committed in groups (GROUP at a time, one fsync each, not one per source: 5,000
    // hosts' files in seconds rather than minutes); inside a group each source is its own
    // savepoint, all of its sweeps or none. A merge stopped part way keeps the groups committed,
    // and merging again adds the rest (merging is idempotent).
    const all = [...named, ...found];
    const mergeGroup = target.db.transaction((group: { path: string; strict: boolean }[]) => {
      const merged: MergeResult[] = [];
      for (const { path, strict } of group) {
        let source: MergeSource;
        try {
          source = openMergeSource(path);
        } catch (err) {
          if (strict || !isUserError(err)) throw err;
          skipped.push(path);
          process.stderr.write(`${formatError(err).replace(/^error: /, 'skipped: ')}\n`);
          continue;
        }
        try {
          merged.push(mergeFrom(target, source));
        } finally {
          source.db.close();
        }
      }
      return merged;
    });
    try {
      for (let start = 0; start < all.length; start += GROUP) {
        const group = all.slice(start, start + GROUP).map((path, k) => ({ path, strict: start + k < named.length }));
        for (const result of mergeGroup.immediate(group)) {
          results.push(result);
          if (!json) process.stdout.write(describeMerge(result));
        }
      }
    } finally {
      target.close();
    }
    if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    else if (found.length > 0 || otherFiles > 0) {
      const added = results.reduce((n, r) => n + r.sweepsAdded, 0);
      process.stdout.write(
        `merged ${results.length} database(s) into ${into}: ${added} sweep(s) added; ${skipped.length} SQLite file(s) skipped (not numa-sweep's, named above); ${otherFiles} other file(s) passed over\n`,
      );
    }
    return 0;
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
