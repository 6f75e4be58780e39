import { UserError } from '../../common/errors.js';
import type { HostConfiguration } from '../../common/host-config.js';
import type { HostRecord, PointRecord, Store, SweepRecord } from '../store/store.js';
import { hostFromRow, sweepFromRow } from '../store/records.js';

// Who is in the fleet: each host's newest ended sweep of one experiment (completed, or failed:
// every point ran, some failed; its failed points are listed as not ranked), from a merged
// database. Interrupted and running sweeps are left out. A host is a hostname: a machine whose BIOS or DIMMs changed has a new `hosts` row
// (its fingerprint changed) but is still the same machine, judged by its newest sweep.

export interface FleetFilter {
  /** Only sweeps with this tag (sweeps.tag) or promoted under it (sweep_tags). */
  tag?: string;
  /** The experiment (sweeps.name); required when the database holds more than one. */
  experiment?: string;
  /** Only sweeps started at or after this time (ISO 8601). */
  since?: string;
}

export interface FleetMember {
  hostname: string;
  host: HostRecord;
  /** hosts.config_json; null where it was not recorded (sweeps stored before it was captured). */
  config: HostConfiguration | null;
  sweep: SweepRecord;
  /** sweeps.uid: the sweep's id across merged databases. */
  sweepUid: string | null;
  points: PointRecord[];
}

export interface FleetSelection {
  experiment: string;
  members: FleetMember[];
}

/** `--since` as an ISO time; a date alone is midnight UTC. Bad input is exit 2 with the value. */
export function parseSince(text: string): string {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || !Number.isFinite(ms)) {
    throw new UserError('--since takes a date or time (YYYY-MM-DD or ISO 8601)', { value: text });
  }
  return new Date(ms).toISOString();
}

export function fleetMembers(store: Store, filter: FleetFilter = {}): FleetSelection {
  const rows = store.db
    .prepare(
      `SELECT s.* FROM sweeps s
       WHERE s.status IN ('completed', 'failed')
         AND (:experiment IS NULL OR s.name = :experiment)
         AND (:since IS NULL OR s.started_at >= :since)
         AND (:tag IS NULL OR s.tag = :tag OR EXISTS (SELECT 1 FROM sweep_tags t WHERE t.sweep_id = s.id AND t.tag = :tag))
       ORDER BY s.started_at DESC, s.id DESC`,
    )
    .all({ experiment: filter.experiment ?? null, since: filter.since ?? null, tag: filter.tag ?? null }) as Record<string, unknown>[];
  const sweeps = rows.map((row) => ({ record: sweepFromRow(row), uid: row.uid === null || row.uid === undefined ? null : String(row.uid) }));
  const experiments = [...new Set(sweeps.map((s) => s.record.name))].sort();
  if (experiments.length === 0) {
    const what = [
      filter.experiment !== undefined ? `of experiment ${filter.experiment}` : '',
      filter.tag !== undefined ? `tagged ${filter.tag}` : '',
      filter.since !== undefined ? `started since ${filter.since}` : '',
    ].filter(Boolean);
    throw new UserError(`no completed or failed sweep${what.length ? ` ${what.join(', ')}` : ''} in this database`, {
      location: { file: store.path },
      hint: what.length
        ? 'see what it holds with sweep query sweeps --db <db>, and loosen --experiment, --tag or --since'
        : 'merge the hosts\' databases into it first (sweep merge <db>... --into <db>)',
    });
  }
  if (experiments.length > 1) {
    throw new UserError('the database holds sweeps of several experiments; name one', {
      location: { file: store.path },
      value: experiments.join(', '),
      hint: `pass --experiment ${experiments[0]}`,
    });
  }
  const hostRow = store.db.prepare('SELECT * FROM hosts WHERE id = ?');
  const newest = new Map<string, FleetMember>();
  for (const { record: sweep, uid } of sweeps) {
    const row = hostRow.get(sweep.host_id) as Record<string, unknown>;
    const host = hostFromRow(row);
    if (newest.has(host.hostname)) continue;
    newest.set(host.hostname, {
      hostname: host.hostname,
      host,
      config: row.config_json === null || row.config_json === undefined ? null : (JSON.parse(String(row.config_json)) as HostConfiguration),
      sweep,
      sweepUid: uid,
      points: store.pointsOf(sweep.id),
    });
  }
  const members = [...newest.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  return { experiment: experiments[0]!, members };
}
