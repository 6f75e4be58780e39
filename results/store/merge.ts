import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { UserError } from '../../common/errors.js';
import { openDatabase } from './db.js';
import type { Store } from './store.js';

// Merging results databases: every host of a fleet writes its own SQLite file, and these are
// gathered into one. A sweep is matched by sweeps.uid (globally unique), never by its local
// integer id, so merging the same file twice adds nothing; a host is matched by its fingerprint.
//
// What a sweep carries is found from the schema itself: every table whose foreign key points at
// sweeps(id), and every table pointing at one of those (points -> instances), is copied with
// its keys renumbered for the target. A table that holds rows and that this walk does not reach
// (no foreign key into it, or more than one) stops the merge: a table added later must say how it
// merges rather than be dropped or copied with stale keys.
//
// A source is opened read-only through openDatabase: a file that is not numa-sweep's, or from a
// newer numa-sweep, is refused (UserError naming it); an older one is read through an upgraded
// copy in memory and the file itself is never written. Each source is merged in one transaction.

export interface MergeResult {
  /** The source file, as given. */
  source: string;
  /** Sweeps copied into the target. */
  sweepsAdded: number;
  /** Sweeps the target already held (same uid, same status and end): left as they were. */
  sweepsPresent: number;
  /** Sweeps the target held in an earlier state (the source's copy ended later, e.g. resumed): replaced. */
  sweepsReplaced: number;
  /**
   * Sweeps the target holds in a later state than the source (an old copy of a file merged after
   * the sweep was resumed and merged again), or still running there: the target's copy is kept.
   */
  sweepsNewerInTarget: number;
  /** Sweeps still running in the source: not merged (merge again once they end). */
  sweepsRunning: { uid: string; name: string }[];
  /** Hosts whose fingerprint the target did not hold yet. */
  hostsAdded: number;
  /** Rows copied per table, e.g. { sweeps: 2, points: 24, instances: 96, sweep_tags: 1 }. */
  rows: Record<string, number>;
}

/** Tables that are not results and are never merged. */
const NOT_MERGED = new Set(['schema_migrations']);

/** A source database opened for merging (read-only; an older schema as an upgraded copy in memory). */
export interface MergeSource {
  path: string;
  db: Database.Database;
}

/**
 * Opens `path` read-only for merging; refuses (UserError, exit 2, naming the file) a file that is
 * missing, not SQLite, another program's, or from a newer numa-sweep. Nothing is written.
 */
export function openMergeSource(path: string): MergeSource {
  if (!existsSync(path)) throw new UserError('no such database to merge', { location: { file: path } });
  return { path, db: openDatabase(path, { readonly: true }) };
}

/** Opens `sourcePath`, merges it into `target` in one transaction and closes it. */
export function mergeDatabase(target: Store, sourcePath: string): MergeResult {
  const source = openMergeSource(sourcePath);
  try {
    return mergeFrom(target, source);
  } finally {
    source.db.close();
  }
}

/** The target's plan, read once per connection: thousands of sources share it (its schema does not change while it is open). */
const plans = new WeakMap<Database.Database, MergePlan>();

/** Merges an opened source into `target` (opened for writing) in one IMMEDIATE transaction. */
export function mergeFrom(target: Store, source: MergeSource): MergeResult {
  if (target.readonly) throw new Error(`results store ${target.path} was opened read-only; merging writes into it`);
  if (sameFile(target.path, source.path)) {
    throw new UserError('a database cannot be merged into itself', { location: { file: source.path }, hint: 'name another file with --into' });
  }
  let plan = plans.get(target.db);
  if (!plan) plans.set(target.db, (plan = mergePlan(target.db)));
  requireNothingLeftOut(source, plan);
  const run = target.db.transaction(() => copySweeps(target.db, source, plan));
  return run.immediate();
}

interface ChildTable {
  table: string;
  /** The column holding the parent's id. */
  parentColumn: string;
  /** Its own INTEGER PRIMARY KEY column, when other tables point at it; null otherwise. */
  idColumn: string | null;
  /** Columns copied as they are (the id and the parent column left out). */
  columns: string[];
  children: ChildTable[];
}

interface MergePlan {
  hostColumns: string[];
  sweepColumns: string[];
  /** Tables hanging off sweeps(id), each with the tables hanging off it. */
  children: ChildTable[];
  /** Every table the walk reaches, hosts and sweeps included. */
  covered: Set<string>;
}

/** Reads from the target's schema which tables a sweep carries and how they link. */
function mergePlan(db: Database.Database): MergePlan {
  const tables = tableNames(db);
  const columnsOf = (table: string) =>
    (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string; pk: number }[]).map((c) => ({ name: c.name, pk: c.pk }));
  const refs = tables.flatMap((table) =>
    (db.prepare(`PRAGMA foreign_key_list("${table}")`).all() as { table: string; from: string; to: string }[]).map((fk) => ({
      child: table,
      parent: fk.table,
      from: fk.from,
    })),
  );
  const covered = new Set(['hosts', 'sweeps']);
  // A table with two foreign keys (to two sweeps, a sweep and a point) would need both renumbered
  // from one row: not done here, so such a table is left uncovered and stops a merge that meets rows in it.
  const singleParent = (table: string) => refs.filter((r) => r.child === table).length === 1;
  const childrenOf = (parent: string): ChildTable[] =>
    refs
      .filter((r) => r.parent === parent && r.child !== parent && r.child !== 'sweeps' && singleParent(r.child))
      .map((r) => {
        covered.add(r.child);
        const cols = columnsOf(r.child);
        const pk = cols.filter((c) => c.pk > 0);
        const idColumn = pk.length === 1 && pk[0]!.name === 'id' ? 'id' : null;
        const children = idColumn ? childrenOf(r.child) : [];
        return {
          table: r.child,
          parentColumn: r.from,
          idColumn: children.length ? idColumn : null,
          columns: cols.map((c) => c.name).filter((n) => n !== r.from && n !== idColumn),
          children,
        };
      });
  const children = childrenOf('sweeps');
  for (const t of tables) if (NOT_MERGED.has(t)) covered.add(t);
  return {
    hostColumns: columnsOf('hosts').map((c) => c.name).filter((n) => n !== 'id'),
    sweepColumns: columnsOf('sweeps').map((c) => c.name).filter((n) => n !== 'id' && n !== 'host_id'),
    children,
    covered,
  };
}

/** A table in the source with rows that the merge would not carry is a bug to fix here, not data to lose. */
function requireNothingLeftOut(source: MergeSource, plan: MergePlan): void {
  const lost = tableNames(source.db).filter((t) => !plan.covered.has(t) && source.db.prepare(`SELECT 1 FROM "${t}" LIMIT 1`).get() !== undefined);
  if (lost.length) throw new Error(`${source.path}: merging does not know how to carry table(s) ${lost.join(', ')}`);
}

function copySweeps(target: Database.Database, source: MergeSource, plan: MergePlan): MergeResult {
  const result: MergeResult = {
    source: source.path,
    sweepsAdded: 0,
    sweepsPresent: 0,
    sweepsReplaced: 0,
    sweepsNewerInTarget: 0,
    sweepsRunning: [],
    hostsAdded: 0,
    rows: {},
  };
  const count = (table: string, n = 1) => (result.rows[table] = (result.rows[table] ?? 0) + n);
  const hostIds = new Map<number, number>();
  const targetHost = target.prepare('SELECT id FROM hosts WHERE fingerprint = ?').pluck();
  const insertHost = insertStatement(target, 'hosts', plan.hostColumns);
  const hostOf = (sourceHostId: number): number => {
    const known = hostIds.get(sourceHostId);
    if (known !== undefined) return known;
    const row = source.db.prepare('SELECT * FROM hosts WHERE id = ?').get(sourceHostId) as Record<string, unknown>;
    let id = targetHost.get(row.fingerprint) as number | undefined;
    if (id === undefined) {
      id = Number(insertHost.run(pick(row, plan.hostColumns)).lastInsertRowid);
      result.hostsAdded++;
      count('hosts');
    }
    hostIds.set(sourceHostId, id);
    return id;
  };

  const existing = target.prepare('SELECT id, status, ended_at FROM sweeps WHERE uid = ?');
  const deleteSweep = target.prepare('DELETE FROM sweeps WHERE id = ?');
  const insertSweep = insertStatement(target, 'sweeps', [...plan.sweepColumns, 'host_id']);
  const sweeps = source.db.prepare('SELECT * FROM sweeps ORDER BY started_at, id').all() as Record<string, unknown>[];
  for (const sweep of sweeps) {
    const uid = String(sweep.uid);
    if (sweep.status === 'running') {
      result.sweepsRunning.push({ uid, name: String(sweep.name) });
      continue;
    }
    const present = existing.get(uid) as { id: number; status: string; ended_at: string | null } | undefined;
    if (present && present.status === sweep.status && present.ended_at === sweep.ended_at) {
      result.sweepsPresent++;
      continue;
    }
    // Only a later end replaces: an old copy of the file (the sweep interrupted, resumed and merged
    // since) must not take back the target's fuller copy. ISO 8601 times in UTC compare as text.
    if (present && (present.ended_at === null || String(sweep.ended_at ?? '') <= present.ended_at)) {
      result.sweepsNewerInTarget++;
      continue;
    }
    // An earlier state of this sweep (merged while interrupted, resumed since): the source's is newer.
    const keptTags = present ? keepTargetTags(target, present.id) : [];
    if (present) deleteSweep.run(present.id);
    const sweepId = Number(insertSweep.run({ ...pick(sweep, plan.sweepColumns), host_id: hostOf(Number(sweep.host_id)) }).lastInsertRowid);
    count('sweeps');
    for (const child of plan.children) copyChildren(target, source.db, child, Number(sweep.id), sweepId, count);
    restoreTags(target, sweepId, keptTags);
    if (present) result.sweepsReplaced++;
    else result.sweepsAdded++;
  }
  return result;
}

/** Copies the rows of `child` that belong to the source parent, renumbered, and their own children. */
function copyChildren(
  target: Database.Database,
  source: Database.Database,
  child: ChildTable,
  sourceParentId: number,
  targetParentId: number,
  count: (table: string, n?: number) => void,
): void {
  const rows = cached(source, `SELECT * FROM "${child.table}" WHERE "${child.parentColumn}" = ?`).all(sourceParentId) as Record<string, unknown>[];
  const insert = insertStatement(target, child.table, [...child.columns, child.parentColumn]);
  for (const row of rows) {
    const info = insert.run({ ...pick(row, child.columns), [child.parentColumn]: targetParentId });
    if (child.idColumn) {
      const newId = Number(info.lastInsertRowid);
      for (const grandchild of child.children) copyChildren(target, source, grandchild, Number(row[child.idColumn]), newId, count);
    }
  }
  count(child.table, rows.length);
}

/** Promotions made in the target (`sweep promote` on the merged database) survive a replaced sweep. */
function keepTargetTags(target: Database.Database, sweepId: number): { tag: string; promoted_at: string }[] {
  return target.prepare('SELECT tag, promoted_at FROM sweep_tags WHERE sweep_id = ?').all(sweepId) as { tag: string; promoted_at: string }[];
}

function restoreTags(target: Database.Database, sweepId: number, tags: readonly { tag: string; promoted_at: string }[]): void {
  const insert = target.prepare('INSERT OR IGNORE INTO sweep_tags (sweep_id, tag, promoted_at) VALUES (?, ?, ?)');
  for (const t of tags) insert.run(sweepId, t.tag, t.promoted_at);
}

function tableNames(db: Database.Database): string[] {
  return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
}

/** Statements prepared once per connection: a merge runs the same few for every point and instance. */
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function cached(db: Database.Database, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) cache.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

function insertStatement(db: Database.Database, table: string, columns: readonly string[]): Database.Statement {
  return cached(db, `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
}

function pick(row: Record<string, unknown>, columns: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c] = row[c] ?? null;
  return out;
}

/** Whether two paths name the same file (symbolic links followed). */
export function sameFile(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}
