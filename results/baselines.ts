import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../common/errors.js';
import { openStore, type Store, type SweepRecord } from './store/store.js';
import { sweepFromRow } from './store/records.js';

// Baselines kept by name: which sweep a qualification is judged against (an id, a tag, or the
// latest), `sweep promote` (a tag on a sweep, table sweep_tags) and `sweep prune` (old sweeps
// deleted, never a promoted (sweep_tags) or a running one). Promote and prune are one transaction each.
//
// "This host" is the hosts rows with the candidate's hostname and CPU model: a host whose kernel,
// microcode or memory changed gets a new hosts row, and its history must still count.

/** The store promote and prune work on: it must exist (neither creates a database). */
export function openExistingStore(path: string, readonly: boolean): Store {
  if (!existsSync(path)) throw new UserError('no results database here', { location: { file: resolve(path) }, hint: 'give --db the database the sweeps were written to' });
  return openStore(path, { readonly });
}

/** Where the candidate ran: what `latest` and a tag are restricted to. */
export interface BaselineScope {
  experiment: string;
  hostname: string;
  cpuModel: string;
  /** The candidate sweep itself, never its own baseline; its host's UUID and serial are read from it when `machine` is not given. */
  excludeSweepId?: number;
  /** The candidate machine's DMI system UUID and serial, where captured. */
  machine?: { uuid: string | null; serial: string | null };
}

export interface ResolvedBaseline {
  sweep: SweepRecord;
  /**
   * How it was found, in words: "sweep 12", "tag 'golden' (promoted 2026-11-30T...)",
   * "latest: sweep 7 of 'local' on vm-1 (skipped 9: 2 suspect points; 8: interrupted)".
   */
  how: string;
  /** `latest` only: the newer sweeps passed over, newest first, with why. */
  skipped?: SkippedBaseline[];
}

export interface SkippedBaseline {
  sweepId: number;
  why: string;
}

/**
 * A further reason to pass a sweep over as `latest` (e.g. a stored "regressed" verdict): the
 * reason in words, or null to keep it. Asked only of sweeps the built-in rules keep.
 */
export type BaselineSkip = (sweepId: number) => string | null;

const LATEST = 'latest';

/** Whether a baseline reference is a sweep id (a number, or digits only). */
export function isSweepId(ref: number | string): boolean {
  return typeof ref === 'number' || /^\d+$/.test(ref);
}

/** The sweep a baseline id names: bad input when there is none, or it is of another experiment. */
export function baselineSweepById(store: Store, id: number | string, experiment: string): SweepRecord {
  const sweep = store.getSweep(Number(id));
  if (!sweep) throw new UserError('no sweep with this id', { location: { file: store.path }, value: id, hint: '`sweep query sweeps` lists them' });
  if (sweep.name !== experiment) {
    throw new UserError(`sweep ${sweep.id} is of experiment '${sweep.name}', not '${experiment}'`, {
      location: { file: store.path },
      value: id,
      hint: 'a baseline must measure the same points: give a sweep of this experiment',
    });
  }
  return sweep;
}

const SAME_HOST = `s.host_id IN (SELECT value FROM json_each(@sameHosts))`;

interface HostIdentityRow {
  id: number;
  hostname: string;
  cpu_model: string;
  uuid: string | null;
  serial: string | null;
}

/**
 * The host rows that are "the same host" as the candidate, and how that was decided: by the
 * machine's DMI system UUID where both sides captured one, else by its system serial where both
 * did, else by hostname plus CPU model (a renamed machine keeps its UUID; a reinstalled one
 * with the old name on other hardware does not match it). Placeholders are not captured
 * (orchestrator/topology/host-config-read.ts), so they never match.
 */
function sameHosts(store: Store, scope: BaselineScope): { ids: number[]; by: ReadonlyMap<number, string> } {
  const rows = store.db
    .prepare(
      `SELECT id, hostname, cpu_model, json_extract(config_json, '$.system.uuid') AS uuid, json_extract(config_json, '$.system.serial') AS serial
       FROM hosts WHERE config_json IS NOT NULL AND json_valid(config_json) UNION ALL
       SELECT id, hostname, cpu_model, NULL, NULL FROM hosts WHERE config_json IS NULL OR NOT json_valid(config_json)`,
    )
    .all() as HostIdentityRow[];
  let machine = scope.machine;
  if (!machine && scope.excludeSweepId !== undefined) {
    const own = store.db.prepare('SELECT host_id FROM sweeps WHERE id = ?').pluck().get(scope.excludeSweepId) as number | undefined;
    const row = rows.find((r) => r.id === own);
    if (row) machine = { uuid: row.uuid, serial: row.serial };
  }
  const rule = (r: HostIdentityRow): { same: boolean; by: string } => {
    if (machine?.uuid && r.uuid) return { same: r.uuid === machine.uuid, by: 'machine UUID' };
    if (machine?.serial && r.serial) return { same: r.serial === machine.serial, by: 'system serial' };
    return { same: r.hostname === scope.hostname && r.cpu_model === scope.cpuModel, by: 'hostname and CPU model' };
  };
  const by = new Map<number, string>();
  for (const r of rows) {
    const judged = rule(r);
    if (judged.same) by.set(r.id, judged.by);
  }
  return { ids: [...by.keys()], by };
}

/**
 * The sweep `ref` names for a candidate of `scope`, or null when none exists yet (a tag never
 * given, no earlier sound sweep): the caller falls back to references, or says so. A sweep
 * id that does not exist, or names a sweep of another experiment, is bad input. `latest` is the
 * newest sound sweep (latestBaseline); `skip` adds a reason of the caller's own to pass one over.
 */
export function resolveBaseline(store: Store, ref: number | string, scope: BaselineScope, skip?: BaselineSkip): ResolvedBaseline | null {
  const same = sameHosts(store, scope);
  const params = { name: scope.experiment, sameHosts: JSON.stringify(same.ids), exclude: scope.excludeSweepId ?? -1, ref: String(ref) };
  // The rule goes inside the description's closing parenthesis, or in one of its own.
  const how = (text: string, found: Record<string, unknown>) => {
    const rule = `same host by ${same.by.get(Number(found.host_id)) ?? 'hostname and CPU model'}`;
    return text.endsWith(')') ? `${text.slice(0, -1)}; ${rule})` : `${text} (${rule})`;
  };
  if (isSweepId(ref)) {
    const sweep = baselineSweepById(store, ref, scope.experiment);
    return { sweep, how: `sweep ${sweep.id}` };
  }
  const row = (sql: string) => store.db.prepare(sql).get(params) as Record<string, unknown> | undefined;
  if (ref === LATEST) {
    const { sweep, skipped } = latestBaseline(store, scope, skip, same.ids);
    if (!sweep) return null;
    const passed = skipped.length > 0 ? ` (skipped ${describeSkipped(skipped)})` : '';
    return { sweep, how: how(`latest: sweep ${sweep.id} of '${scope.experiment}' on ${scope.hostname}${passed}`, { host_id: sweep.host_id }), skipped };
  }
  // A promoted tag first (its newest promotion), then a tag given with --tag when the sweep ran.
  const promoted = row(`SELECT s.*, t.promoted_at AS promoted_at FROM sweep_tags t JOIN sweeps s ON s.id = t.sweep_id
    WHERE t.tag = @ref AND s.name = @name AND s.id <> @exclude AND ${SAME_HOST} ORDER BY t.promoted_at DESC, s.id DESC LIMIT 1`);
  if (promoted) return { sweep: sweepFromRow(promoted), how: how(`tag '${ref}' (promoted ${String(promoted.promoted_at)})`, promoted) };
  const tagged = row(`SELECT s.* FROM sweeps s WHERE s.tag = @ref AND s.name = @name AND s.id <> @exclude AND ${SAME_HOST}
    ORDER BY s.started_at DESC, s.id DESC LIMIT 1`);
  return tagged ? { sweep: sweepFromRow(tagged), how: how(`tag '${ref}' (given when the sweep ran)`, tagged) } : null;
}

/** At most this many skipped sweeps are named one by one in `how`; the rest are counted. */
const NAMED_SKIPS = 5;

function describeSkipped(skipped: readonly SkippedBaseline[]): string {
  const named = skipped.slice(0, NAMED_SKIPS).map((s) => `${s.sweepId}: ${s.why}`);
  const more = skipped.length - named.length;
  return named.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * What `latest` picks: the newest sweep of the experiment on this host (never the candidate)
 * that completed, with no failed point and no suspect point, and that `skip` keeps; with the
 * newer sweeps passed over and why. A baseline that was itself broken or measured under foreign
 * load would make every later night look faster, or hide a regression. `sweep` is null when
 * no sweep qualifies (`skipped` then lists them all).
 */
export function latestBaseline(
  store: Store,
  scope: BaselineScope,
  skip?: BaselineSkip,
  hostIds: readonly number[] = sameHosts(store, scope).ids,
): { sweep: SweepRecord | null; skipped: SkippedBaseline[] } {
  const params = { name: scope.experiment, sameHosts: JSON.stringify(hostIds), exclude: scope.excludeSweepId ?? -1 };
  // All rows first, not an iterator: `skip` may read the same connection, which better-sqlite3
  // refuses while a statement is still being iterated.
  const rows = store.db
    .prepare(
      `SELECT s.*,
         (SELECT COUNT(*) FROM points p WHERE p.sweep_id = s.id AND p.status = 'failed') AS failed_points,
         (SELECT COUNT(*) FROM points p WHERE p.sweep_id = s.id AND p.suspect_reasons <> '[]') AS suspect_points
       FROM sweeps s WHERE s.name = @name AND s.id <> @exclude AND ${SAME_HOST}
       ORDER BY s.started_at DESC, s.id DESC`,
    )
    .all(params) as Record<string, unknown>[];
  const skipped: SkippedBaseline[] = [];
  for (const r of rows) {
    const sweep = sweepFromRow(r);
    const reasons: string[] = [];
    if (sweep.status !== 'completed') reasons.push(sweep.status);
    const failed = Number(r.failed_points);
    const suspect = Number(r.suspect_points);
    if (failed > 0) reasons.push(`${plural(failed, 'failed point')}`);
    if (suspect > 0) reasons.push(`${plural(suspect, 'suspect point')}`);
    if (reasons.length === 0) {
      const own = skip?.(sweep.id) ?? null;
      if (own !== null) reasons.push(own);
    }
    if (reasons.length === 0) return { sweep, skipped };
    skipped.push({ sweepId: sweep.id, why: reasons.join(', ') });
  }
  return { sweep: null, skipped };
}

/** Tags are names: not a number (an id) and not 'latest'. */
export function checkTag(tag: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(tag) || isSweepId(tag) || tag === LATEST) {
    throw new UserError('a tag is a name of letters, digits, ".", "_", ":" and "-", neither a number nor "latest"', { value: tag });
  }
}

export interface Promotion {
  sweep: SweepRecord;
  tag: string;
  promoted_at: string;
  /** Suspect points promoted anyway (--force), by key. */
  suspect: string[];
}

/**
 * Tags sweep `ref` (id, name or tag) with `tag`. Refused (bad input) for a sweep that did not
 * complete or has suspect points, unless `force`: a baseline measured under foreign load would
 * make every later night look faster, or pass a regression.
 */
export function promoteSweep(store: Store, ref: string, tag: string, force = false): Promotion {
  checkTag(tag);
  const promoted_at = new Date().toISOString();
  const run = store.db.transaction((): Promotion => {
    const sweep = store.findSweep(ref);
    const suspect = store
      .pointMeasuresOf(sweep.id)
      .filter((p) => p.suspect_reasons.length > 0)
      .map((p) => p.key);
    const refusals: string[] = [];
    if (sweep.status !== 'completed') refusals.push(`it is ${sweep.status}, not completed`);
    if (suspect.length > 0) refusals.push(`${suspect.length} suspect point(s): ${suspect.join(', ')}`);
    if (refusals.length > 0 && !force) {
      throw new UserError(`sweep ${sweep.id} cannot be promoted: ${refusals.join('; ')}`, {
        location: { file: store.path },
        value: ref,
        hint: 'promote a completed sweep measured on a quiet host, or --force to promote it anyway',
      });
    }
    store.db.prepare('INSERT OR REPLACE INTO sweep_tags (sweep_id, tag, promoted_at) VALUES (?, ?, ?)').run(sweep.id, tag, promoted_at);
    return { sweep, tag, promoted_at, suspect };
  });
  return run.immediate();
}

export interface PrunedSweep {
  id: number;
  name: string;
  status: string;
  started_at: string;
  points: number;
}

/**
 * Deletes (or with `dryRun` lists) the sweeps started more than `keepDays` days before `now`,
 * their points and instances with them; never a sweep carrying a tag in sweep_tags, never a
 * running one. One transaction.
 */
export function pruneSweeps(store: Store, keepDays: number, dryRun: boolean, now = new Date()): { cutoff: string; sweeps: PrunedSweep[]; keptTagged: number } {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000).toISOString();
  const run = store.db.transaction(() => {
    const sweeps = store.db
      .prepare(
        `SELECT s.id, s.name, s.status, s.started_at, (SELECT COUNT(*) FROM points p WHERE p.sweep_id = s.id) AS points FROM sweeps s
         WHERE s.started_at < ? AND s.status <> 'running' AND s.id NOT IN (SELECT sweep_id FROM sweep_tags) ORDER BY s.started_at, s.id`,
      )
      .all(cutoff) as PrunedSweep[];
    const keptTagged = (
      store.db.prepare('SELECT COUNT(*) AS n FROM sweeps WHERE started_at < ? AND id IN (SELECT sweep_id FROM sweep_tags)').get(cutoff) as { n: number }
    ).n;
    if (!dryRun) {
      const remove = store.db.prepare('DELETE FROM sweeps WHERE id = ?');
      for (const s of sweeps) remove.run(s.id);
    }
    return { cutoff, sweeps, keptTagged };
  });
  // A dry run reads only: a plain transaction, which a read-only store can open.
  return dryRun ? run.deferred() : run.immediate();
}
