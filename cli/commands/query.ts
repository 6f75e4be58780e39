import type { Command } from '../command.js';
import { flag, needPositional, oneOf, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { listSavedQueries, QUERY_FORMATS, runQuery, type QueryFormat } from '../../results/query.js';
import { DEFAULT_DB } from './run.js';

export const queryCommand: Command = {
  name: 'query',
  summary: 'run SQL (or a saved query by name) read-only against the results database',
  usage: `usage: sweep query "<SQL>" [--db PATH] [--format table|json|csv] [--param NAME=VALUE ...]
       sweep query <saved-query> [--param sweep=ID] ...
       sweep query --list

The database is opened read-only: a statement that would write is refused and nothing changes.
The view 'results' has one row per point: sweep_id, sweep_name, tag, host, point_key, status,
batch_size, instances, cores_per_instance, binding, profile, engine, throughput_ips,
latency_p50_ms, latency_p90_ms, latency_p99_ms, dice, started_at, then validity (ok, suspect
or failed: a suspect point's status is ok) and the other measures. Tables: hosts, sweeps,
points, instances. A saved query's table shows NULL as '-'.

options:
  --db PATH             database (default ${DEFAULT_DB})
  --format F            table (default), json or csv
  --param NAME=VALUE    bind :NAME in the statement (repeatable); :sweep takes an id, a promoted tag, a name or run tag
  --list                list the saved queries (results/queries/*.sql) and what each answers`,
  async run(argv) {
    const p = parse('query', argv, {
      db: { type: 'string' },
      format: { type: 'string' },
      param: { type: 'string', multiple: true },
      list: { type: 'boolean' },
    });
    if (flag(p, 'list')) {
      for (const q of listSavedQueries()) {
        process.stdout.write(`${q.name}${q.params.length ? ` (:${q.params.join(', :')})` : ''}\n    ${q.description}\n`);
      }
      return 0;
    }
    const sql = needPositional(p, 0, 'SQL statement or saved query name', 'query');
    const format = oneOf<QueryFormat>(p, 'format', QUERY_FORMATS, 'table');
    const params: Record<string, string> = {};
    const given = p.values.param as unknown as string[] | undefined;
    for (const kv of given ?? []) {
      const eq = kv.indexOf('=');
      if (eq < 1) throw new UserError('--param takes NAME=VALUE', { value: kv });
      params[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    process.stdout.write(runQuery(str(p, 'db') ?? DEFAULT_DB, sql, format, params));
    return 0;
  },
};
