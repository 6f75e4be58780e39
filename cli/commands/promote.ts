import type { Command } from '../command.js';
import { flag, needPositional, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { openExistingStore, promoteSweep } from '../../results/baselines.js';
import { DEFAULT_DB } from './run.js';

export const promoteCommand: Command = {
  name: 'promote',
  summary: 'name a sweep as a baseline (e.g. golden) for `sweep qualify --baseline TAG`',
  usage: `usage: sweep promote <sweep> --tag TAG [--force] [--db PATH]

Tags the sweep (an id, a promoted tag, or a name or run tag: the latest such sweep) with TAG in the table
sweep_tags, in one transaction. \`sweep qualify\` with baseline TAG then judges against the
newest sweep promoted with TAG for the same experiment on the same host. A sweep may carry
several tags; promoting another sweep with the same TAG makes it the newer promotion, and
\`sweep prune\` never deletes a promoted sweep (one tagged by \`sweep promote\`; a tag given with \`--tag\` when a sweep ran does not keep it).

Refused (exit 2, naming why) for a sweep that did not complete or has suspect points (measured
under foreign load, throttling or another sweep): such a baseline would pass a regression
later, or flag a quiet night as one.

options:
  --tag TAG     the name (letters, digits, '.', '_', ':', '-'; not a number, not 'latest')
  --force       promote it anyway (the suspect points are listed)
  --db PATH     database (default ${DEFAULT_DB})
exit codes: 0 promoted, 2 bad input or refused (nothing changed)`,
  async run(argv) {
    const p = parse('promote', argv, { tag: { type: 'string' }, force: { type: 'boolean' }, db: { type: 'string' } });
    const ref = needPositional(p, 0, 'sweep (id, name or tag)', 'promote');
    const tag = str(p, 'tag');
    if (tag === undefined) throw new UserError('missing --tag', { hint: "see 'sweep promote --help'" });
    const store = openExistingStore(str(p, 'db') ?? DEFAULT_DB, false);
    try {
      const done = promoteSweep(store, ref, tag, flag(p, 'force'));
      const forced = done.suspect.length > 0 || done.sweep.status !== 'completed' ? ` (forced: ${done.sweep.status}, ${done.suspect.length} suspect point(s))` : '';
      process.stdout.write(`promoted sweep ${done.sweep.id} '${done.sweep.name}' as '${done.tag}' at ${done.promoted_at}${forced}\n`);
      return 0;
    } finally {
      store.close();
    }
  },
};
